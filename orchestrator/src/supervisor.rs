//! `mneme up` on one machine: every agent and the orchestrator as child processes, restarted with backoff
//! when they die (and given up on, with an alert, when they keep dying), scaled up and down while running
//! (`mneme scale`, a replica stopping only after finishing its work), stopped in order (agents first, NATS
//! last) when asked.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use mneme_protocol::AgentType;
use mneme_protocol::orchestrator::{RestartsExhausted, Scaled, event_types};

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
    /// More restarts than this within `restart_window` and the process is given up on.
    pub max_restarts: usize,
    pub restart_window: Duration,
}

impl From<&SupervisorSettings> for RestartPolicy {
    fn from(settings: &SupervisorSettings) -> Self {
        RestartPolicy {
            initial_backoff: Duration::from_millis(settings.restart_initial_backoff_ms),
            max_backoff: Duration::from_millis(settings.restart_max_backoff_ms),
            stable_after: Duration::from_secs(settings.restart_stable_after_secs),
            stop_grace: Duration::from_millis(settings.stop_grace_ms),
            max_restarts: settings.max_restarts,
            restart_window: Duration::from_secs(settings.restart_window_secs),
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

/// Where alerts go once the supervisor is connected to NATS; before that, only to the log.
pub type Alerts = Arc<OnceLock<async_nats::Client>>;

/// Runs every child until `stop` is cancelled, then stops them all and returns.
pub async fn supervise(specs: Vec<ChildSpec>, policy: RestartPolicy, stop: CancellationToken) {
    let tracker = TaskTracker::new();
    let alerts = Alerts::default();
    for spec in specs {
        tracker.spawn(keep_running(spec, policy, stop.clone(), alerts.clone()));
    }
    tracker.close();
    tracker.wait().await;
}

async fn keep_running(spec: ChildSpec, policy: RestartPolicy, stop: CancellationToken, alerts: Alerts) {
    let mut backoff = policy.initial_backoff;
    let mut deaths: VecDeque<Instant> = VecDeque::new();
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
        // The restart intensity: N deaths in T, and the process is left dead with an alert, rather than
        // restarted for ever.
        let now = Instant::now();
        deaths.push_back(now);
        while deaths.front().is_some_and(|death| now.duration_since(*death) > policy.restart_window) {
            deaths.pop_front();
        }
        if deaths.len() > policy.max_restarts {
            tracing::error!(
                process = %spec.label,
                restarts = deaths.len(),
                window = ?policy.restart_window,
                "Kept dying; no longer restarted."
            );
            if let Some(client) = alerts.get() {
                let event = RestartsExhausted {
                    process: spec.label.clone(),
                    restarts: deaths.len(),
                    window_secs: policy.restart_window.as_secs(),
                };
                let published = mneme_runtime::events::publish(
                    client,
                    "mneme-supervisor",
                    event_types::RESTARTS_EXHAUSTED,
                    &event,
                    &mneme_runtime::events::Audience::Everyone,
                )
                .await;
                if let Err(error) = published {
                    tracing::warn!(%error, "The alert was not published.");
                }
            }
            return;
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

/// One replica of an agent: stopped on its own by cancelling `stop`.
#[derive(Debug)]
struct Replica {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScaleError {
    #[error("{0} is not installed beside mneme, or not run by this supervisor")]
    NotRun(AgentType),
    #[error("at most {max} replicas of an agent type run on one machine; {asked} were asked for")]
    TooMany { asked: usize, max: usize },
}

/// The processes of `mneme up`, with replicas of each agent type that can change while it runs.
#[derive(Debug)]
pub struct Supervisor {
    dir: PathBuf,
    environment: Vec<(String, String)>,
    policy: RestartPolicy,
    max_replicas: usize,
    stop: CancellationToken,
    tracker: TaskTracker,
    replicas: tokio::sync::Mutex<BTreeMap<AgentType, Vec<Replica>>>,
    /// The number the next replica of each type gets in its label.
    numbers: std::sync::Mutex<HashMap<AgentType, usize>>,
    alerts: Alerts,
}

impl Supervisor {
    /// Starts `replicas` of each of `agents` and one orchestrator.
    pub async fn start(
        dir: &Path,
        agents: &[AgentType],
        replicas: usize,
        environment: Vec<(String, String)>,
        policy: RestartPolicy,
        max_replicas: usize,
    ) -> Arc<Self> {
        let supervisor = Arc::new(Supervisor {
            dir: dir.to_path_buf(),
            environment,
            policy,
            max_replicas,
            stop: CancellationToken::new(),
            tracker: TaskTracker::new(),
            replicas: tokio::sync::Mutex::default(),
            numbers: std::sync::Mutex::default(),
            alerts: Alerts::default(),
        });
        {
            let mut running = supervisor.replicas.lock().await;
            for agent in agents {
                let group = running.entry(*agent).or_default();
                for _ in 0..replicas {
                    group.push(supervisor.launch(*agent));
                }
            }
        }
        let orchestrator = ChildSpec {
            label: ORCHESTRATOR_BINARY.to_owned(),
            program: dir.join(ORCHESTRATOR_BINARY),
            environment: supervisor.environment.clone(),
        };
        supervisor.tracker.spawn(keep_running(
            orchestrator,
            policy,
            supervisor.stop.child_token(),
            supervisor.alerts.clone(),
        ));
        supervisor
    }

    fn launch(&self, agent: AgentType) -> Replica {
        let number = {
            let mut numbers = self.numbers.lock().expect("unpoisoned");
            let next = numbers.entry(agent).or_insert(1);
            let number = *next;
            *next += 1;
            number
        };
        let spec = ChildSpec {
            label: format!("{}#{number}", agent.binary_name()),
            program: self.dir.join(agent.binary_name()),
            environment: self.environment.clone(),
        };
        let stop = self.stop.child_token();
        let task = self.tracker.spawn(keep_running(spec, self.policy, stop.clone(), self.alerts.clone()));
        Replica { stop, task }
    }

    /// From now on, alerts are published with `client` too.
    pub fn alert_with(&self, client: async_nats::Client) {
        let _ = self.alerts.set(client);
    }

    /// How many replicas of each agent type run.
    pub async fn replicas(&self) -> BTreeMap<String, usize> {
        self.replicas.lock().await.iter().map(|(agent, replicas)| (agent.to_string(), replicas.len())).collect()
    }

    /// Runs `count` replicas of `agent`: new ones are started; the newest of the others are stopped as a
    /// replica stops (it stops taking requests, answers those it has, and exits), and this returns once
    /// they have.
    pub async fn scale(&self, agent: AgentType, count: usize) -> Result<Scaled, ScaleError> {
        if count > self.max_replicas {
            return Err(ScaleError::TooMany { asked: count, max: self.max_replicas });
        }
        let draining = {
            let mut running = self.replicas.lock().await;
            let Some(group) = running.get_mut(&agent) else { return Err(ScaleError::NotRun(agent)) };
            let before = group.len();
            while group.len() < count {
                group.push(self.launch(agent));
            }
            let draining = group.split_off(count.min(group.len()));
            tracing::info!(%agent, before, after = count, "Scaling.");
            (before, draining)
        };
        let (before, draining) = draining;
        for replica in &draining {
            replica.stop.cancel();
        }
        for replica in draining {
            let _ = replica.task.await;
        }
        Ok(Scaled { agent_type: agent, before, after: count })
    }

    /// Stops every process and waits for them.
    pub async fn stop(&self) {
        self.stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Answers `scale` and `list_replicas` on the supervisor's subjects until `stop` is cancelled: how `mneme
/// scale` reaches the `mneme up` of this machine.
pub async fn serve_control(
    supervisor: Arc<Supervisor>,
    client: async_nats::Client,
    stop: CancellationToken,
) -> Result<(), async_nats::SubscribeError> {
    use futures::StreamExt;
    use mneme_protocol::subjects;

    let scale = client.queue_subscribe(subjects::SUPERVISOR_SCALE, subjects::SUPERVISOR_QUEUE_GROUP.to_owned()).await?;
    let list =
        client.queue_subscribe(subjects::SUPERVISOR_REPLICAS, subjects::SUPERVISOR_QUEUE_GROUP.to_owned()).await?;
    let mut requests = futures::stream::select(scale, list);
    let work = TaskTracker::new();
    loop {
        let request = tokio::select! {
            () = stop.cancelled() => break,
            request = requests.next() => match request {
                Some(request) => request,
                None => break,
            },
        };
        let (supervisor, client) = (supervisor.clone(), client.clone());
        // Scaling down waits for replicas to finish their work; other requests need not wait for it.
        work.spawn(async move { answer_control(&supervisor, &client, request).await });
    }
    work.close();
    work.wait().await;
    Ok(())
}

async fn answer_control(supervisor: &Supervisor, client: &async_nats::Client, request: async_nats::Message) {
    use mneme_protocol::orchestrator::{Replicas, ScaleRequest, message_types};
    use mneme_protocol::{AgentMessage, Encoding, ErrorCode, ErrorPayload, ReplyTo, builtin, subjects};

    let Some(reply_subject) = request.reply.clone() else { return };
    let encoding = Encoding::from_content_type(
        request.headers.as_ref().and_then(|map| map.get(subjects::headers::CONTENT_TYPE)).map(|value| value.as_str()),
    );
    let fail = |code: ErrorCode, error: String| {
        (
            builtin::ERROR_RESPONSE,
            serde_json::to_value(ErrorPayload {
                error,
                code: code.status(),
                recoverable: code.recoverable(),
                kind: code.as_str().to_owned(),
            }),
        )
    };
    let message = AgentMessage::decode(&request.payload, encoding);
    let reply_to = message.as_ref().map(AgentMessage::reply_to).unwrap_or(ReplyTo {
        id: uuid::Uuid::now_v7().to_string(),
        sender_id: String::new(),
        priority: 0,
    });
    let (reply_type, payload) = match message {
        Err(error) => fail(ErrorCode::BadRequest, error.to_string()),
        Ok(_) if request.subject.as_str() == subjects::SUPERVISOR_REPLICAS => {
            (message_types::REPLICAS, serde_json::to_value(Replicas { replicas: supervisor.replicas().await }))
        }
        Ok(message) => match message.payload_as::<ScaleRequest>() {
            Err(error) => fail(ErrorCode::BadRequest, error.to_string()),
            Ok(scale) => match supervisor.scale(scale.agent_type, scale.replicas).await {
                Ok(scaled) => (message_types::SCALED, serde_json::to_value(scaled)),
                Err(error @ ScaleError::NotRun(_)) => fail(ErrorCode::NotFound, error.to_string()),
                Err(error) => fail(ErrorCode::BadRequest, error.to_string()),
            },
        },
    };
    let payload = payload.unwrap_or_else(|error| serde_json::json!({"error": error.to_string()}));
    let now = mneme_protocol::message::unix_now();
    let reply_id = uuid::Uuid::now_v7().to_string();
    let head = reply_to.head(&reply_id, reply_type, "mneme-supervisor", now);
    match mneme_protocol::encode_envelope(&head, &payload, encoding) {
        Ok(body) => {
            if let Err(error) = client.publish(reply_subject, body.into()).await {
                tracing::warn!(%error, "A supervisor reply was not sent.");
            }
        }
        Err(error) => tracing::warn!(%error, "A supervisor reply cannot be encoded."),
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
            max_restarts: 100,
            restart_window: Duration::from_secs(60),
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
