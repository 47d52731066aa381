//! `mneme up` on one machine: every agent and the orchestrator as child processes, restarted with backoff
//! when they die, stopped in order (agents first, NATS last) when asked.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use mneme_protocol::AgentType;

use crate::settings::SupervisorSettings;

/// The orchestrator process's executable.
pub const ORCHESTRATOR_BINARY: &str = "mneme-orchestrator";

/// One process to keep running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSpec {
    /// How logs name it: the executable, with an instance number when replicated.
    pub label: String,
    pub program: PathBuf,
    pub environment: Vec<(String, String)>,
}

/// When and how to restart.
#[derive(Debug, Clone, Copy)]
pub struct RestartPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub stable_after: Duration,
    pub stop_grace: Duration,
}

impl From<&SupervisorSettings> for RestartPolicy {
    fn from(settings: &SupervisorSettings) -> Self {
        RestartPolicy {
            initial_backoff: Duration::from_millis(settings.restart_initial_backoff_ms),
            max_backoff: Duration::from_millis(settings.restart_max_backoff_ms),
            stable_after: Duration::from_secs(settings.restart_stable_after_secs),
            stop_grace: Duration::from_millis(settings.stop_grace_ms),
        }
    }
}

/// Where sibling executables live: beside the running one, as `cargo build` and installs put them.
pub fn executable_dir() -> Option<PathBuf> {
    std::env::current_exe().ok()?.parent().map(Path::to_path_buf)
}

/// The agents that can run here: the configured ones, or every agent whose executable is in `dir`.
pub fn available_agents(dir: &Path, configured: &[AgentType]) -> Vec<AgentType> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    AgentType::ALL.into_iter().filter(|agent| dir.join(agent.binary_name()).is_file()).collect()
}

/// The processes of a local system: `replicas` of each agent, then one orchestrator.
pub fn plan(dir: &Path, agents: &[AgentType], replicas: usize, environment: &[(String, String)]) -> Vec<ChildSpec> {
    let mut specs = Vec::new();
    for agent in agents {
        for replica in 1..=replicas {
            let label = if replicas == 1 { agent.binary_name() } else { format!("{}#{replica}", agent.binary_name()) };
            specs.push(ChildSpec { label, program: dir.join(agent.binary_name()), environment: environment.to_vec() });
        }
    }
    specs.push(ChildSpec {
        label: ORCHESTRATOR_BINARY.to_owned(),
        program: dir.join(ORCHESTRATOR_BINARY),
        environment: environment.to_vec(),
    });
    specs
}

/// Makes a key at `path` unless one is there: 32 random bytes in hex, readable by the owner only.
pub fn ensure_key_file(path: &Path) -> std::io::Result<bool> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    if path.exists() {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let key: [u8; 32] = rand::random();
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(hex::encode(key).as_bytes())?;
    file.sync_all()?;
    Ok(true)
}

/// Runs every child until `stop` is cancelled, then stops them all and returns.
pub async fn supervise(specs: Vec<ChildSpec>, policy: RestartPolicy, stop: CancellationToken) {
    let tracker = TaskTracker::new();
    for spec in specs {
        tracker.spawn(keep_running(spec, policy, stop.clone()));
    }
    tracker.close();
    tracker.wait().await;
}

async fn keep_running(spec: ChildSpec, policy: RestartPolicy, stop: CancellationToken) {
    let mut backoff = policy.initial_backoff;
    while !stop.is_cancelled() {
        let started = Instant::now();
        let spawned = Command::new(&spec.program)
            .envs(spec.environment.iter().cloned())
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn();
        match spawned {
            Ok(mut child) => {
                tracing::info!(process = %spec.label, pid = child.id(), "Started.");
                tokio::select! {
                    status = child.wait() => {
                        let status = status.map(|status| status.to_string()).unwrap_or_else(|error| error.to_string());
                        tracing::warn!(process = %spec.label, %status, "Exited; restarting after {backoff:?}.");
                    }
                    () = stop.cancelled() => {
                        terminate(&mut child, &spec.label, policy.stop_grace).await;
                        return;
                    }
                }
            }
            Err(error) => {
                tracing::error!(process = %spec.label, program = %spec.program.display(), %error, "Cannot start.")
            }
        }
        if started.elapsed() >= policy.stable_after {
            backoff = policy.initial_backoff;
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stop.cancelled() => return,
        }
        backoff = (backoff * 2).min(policy.max_backoff);
    }
}

/// SIGTERM, then up to `grace` for the process to finish its work, then SIGKILL.
pub async fn terminate(child: &mut Child, label: &str, grace: Duration) {
    let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) else { return };
    if let Err(error) = kill(Pid::from_raw(pid), Signal::SIGTERM) {
        tracing::warn!(process = label, %error, "Cannot signal.");
    }
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(Ok(status)) => tracing::info!(process = label, %status, "Stopped."),
        Ok(Err(error)) => tracing::warn!(process = label, %error, "Lost track of the process."),
        Err(_) => {
            tracing::warn!(process = label, ?grace, "Still running after the grace period; killing.");
            if let Err(error) = child.kill().await {
                tracing::warn!(process = label, %error, "Cannot kill.");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_replicas_of_each_agent_then_the_orchestrator() {
        let environment = vec![("MNEME__NATS__URL".to_owned(), "nats://127.0.0.1:4222".to_owned())];
        let specs = plan(Path::new("/opt/mneme"), &[AgentType::MemoryHarvester], 2, &environment);
        let labels: Vec<&str> = specs.iter().map(|spec| spec.label.as_str()).collect();
        assert_eq!(labels, ["mneme-memory-harvester#1", "mneme-memory-harvester#2", "mneme-orchestrator"]);
        assert_eq!(specs[0].program, Path::new("/opt/mneme/mneme-memory-harvester"));
        assert_eq!(specs[2].environment, environment);
    }

    #[test]
    fn finds_the_agents_whose_executables_are_installed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mneme-memory-harvester"), b"").unwrap();
        assert_eq!(available_agents(dir.path(), &[]), [AgentType::MemoryHarvester]);
        assert_eq!(available_agents(dir.path(), &[AgentType::AvatarTrainer]), [AgentType::AvatarTrainer]);
    }

    #[test]
    fn makes_a_private_key_file_once() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/master.key");
        assert!(ensure_key_file(&path).unwrap());
        let key = std::fs::read_to_string(&path).unwrap();
        assert_eq!(key.len(), 64);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!ensure_key_file(&path).unwrap(), "an existing key is kept");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), key);
    }

    #[tokio::test]
    async fn restarts_a_dying_process_and_stops_a_running_one() {
        let dir = tempfile::tempdir().unwrap();
        let counter = dir.path().join("starts");
        let script = dir.path().join("flaky.sh");
        std::fs::write(&script, format!("#!/bin/sh\necho x >> {}\nexit 3\n", counter.display())).unwrap();
        let mut permissions = std::fs::metadata(&script).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&script, permissions).unwrap();

        let policy = RestartPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
            stable_after: Duration::from_secs(60),
            stop_grace: Duration::from_secs(1),
        };
        let stop = CancellationToken::new();
        let spec = ChildSpec { label: "flaky".into(), program: script, environment: Vec::new() };
        let supervision = tokio::spawn(supervise(vec![spec], policy, stop.clone()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(&counter).map(|text| text.lines().count()).unwrap_or(0) < 3 {
            assert!(Instant::now() < deadline, "the process was not restarted");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), supervision).await.unwrap().unwrap();
    }
}
