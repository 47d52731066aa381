//! `mneme demo`: Mneme on a year of a made-up life (Sam's 2024: a journal, chats and e-mail, written for the
//! project; `orchestrator/demo/`). It starts a system of its own (its own NATS server and data, beside the
//! user's), ingests the year, and shows a digest, the people, the patterns, answers to questions, Sam's voice
//! and an answer from Sam's avatar.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use mneme_protocol::ComponentKind;
use mneme_protocol::insights::DigestPeriod;

use super::{OutputFormat, ask, avatar, ingest, patterns, people, say};
use crate::discovery::{self, DiscoveryWindow};
use crate::settings::Settings;
use crate::supervisor;

const JOURNAL: &str = include_str!("../../demo/journal.md");
const CHATS: &str = include_str!("../../demo/chats.json");
const MAIL: &str = include_str!("../../demo/mail.mbox");

/// The owner the demo's memories belong to.
pub const OWNER: &str = "sam";
/// The last minute of Sam's year: what the demo's questions count "last summer" and "lately" from.
const DEMO_NOW: &str = "2024-12-31T23:59:00Z";

pub struct DemoRequest {
    /// Keep the demo's system running afterwards, until Ctrl-C.
    pub keep_running: bool,
}

/// A `mneme up` of the demo's own, stopped (Ctrl-C, as a person would) when dropped.
struct DemoSystem(std::process::Child);

impl Drop for DemoSystem {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGINT);
        }
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `mneme up` on a free port with the demo's own data directory.
fn start_system(settings: &Settings) -> anyhow::Result<(DemoSystem, String)> {
    let data_dir = settings.supervisor.data_dir().join("demo");
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot make {}", data_dir.display()))?;
    let port = free_port()?;
    let executable = std::env::current_exe().context("cannot tell where `mneme` is")?;
    let child = std::process::Command::new(executable)
        .arg("up")
        .env("MNEME__SUPERVISOR__DATA_DIR", &data_dir)
        .env("MNEME__SUPERVISOR__LOCAL_NATS_PORT", port.to_string())
        .env("MNEME__SUPERVISOR__MASTER_KEY_FILE", data_dir.join("master.key"))
        .env("MNEME__TELEMETRY__LOG_FILTER", "warn")
        .env_remove("MNEME__NATS__URL")
        .stdin(Stdio::null())
        .spawn()
        .context("cannot start `mneme up`")?;
    eprintln!("Started a demo system of its own (data in {}).", data_dir.display());
    Ok((DemoSystem(child), format!("nats://127.0.0.1:{port}")))
}

/// Waits until every installed agent and the orchestrator answer.
async fn wait_until_ready(settings: &Settings, within: Duration) -> anyhow::Result<()> {
    let dir = supervisor::executable_dir().context("cannot tell where the mneme executables are")?;
    let mut expected: HashSet<ComponentKind> =
        supervisor::available_agents(&dir, &settings.supervisor.agents).into_iter().map(ComponentKind::Agent).collect();
    expected.insert(ComponentKind::Orchestrator);
    let deadline = Instant::now() + within;
    loop {
        if let Ok(client) = super::connect_client(settings).await {
            let window = DiscoveryWindow { max_wait: Duration::from_millis(500), quiet: Duration::from_millis(150) };
            let running: HashSet<ComponentKind> =
                discovery::discover(&client, None, window).await?.into_iter().map(|instance| instance.kind).collect();
            if expected.is_subset(&running) {
                return Ok(());
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "the demo system did not come up within {within:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn heading(text: &str) -> anyhow::Result<()> {
    say(&format!("\n== {text} ==\n"))
}

pub async fn demo(mut settings: Settings, url_configured: bool, request: DemoRequest) -> anyhow::Result<ExitCode> {
    // A system the user pointed at is used as it is; otherwise the demo runs one of its own.
    let system = if url_configured {
        None
    } else {
        let (system, url) = start_system(&settings)?;
        settings.runtime.nats.url = url;
        Some(system)
    };
    wait_until_ready(&settings, Duration::from_secs(120)).await?;

    let corpus = tempfile::tempdir().context("cannot make a folder for the demo's files")?;
    for (name, text) in [("journal.md", JOURNAL), ("chats.json", CHATS), ("mail.mbox", MAIL)] {
        std::fs::write(corpus.path().join(name), text)?;
    }
    heading("Ingesting Sam's 2024: a journal, chats and e-mail")?;
    let ingested = ingest::ingest(
        &settings,
        ingest::IngestRequest {
            path: PathBuf::from(corpus.path()),
            owner: OWNER.to_owned(),
            format: None,
            csv_mapping: None,
            wait: Duration::from_secs(120),
            output: OutputFormat::Table,
        },
    )
    .await?;
    if ingested != ExitCode::SUCCESS {
        return Ok(ingested);
    }

    heading("The year in insights (mneme insights --owner sam --period year)")?;
    let digest = ask::InsightsRequest {
        owner: OWNER.to_owned(),
        principal: None,
        period: DigestPeriod::Year,
        ending: Some("2024-12-31".to_owned()),
        deadline_ms: None,
    };
    ask::insights(&settings, digest, OutputFormat::Table).await?;
    heading("September (mneme insights --owner sam --period month --ending 2024-09-30)")?;
    let september = ask::InsightsRequest {
        owner: OWNER.to_owned(),
        principal: None,
        period: DigestPeriod::Month,
        ending: Some("2024-09-30".to_owned()),
        deadline_ms: None,
    };
    ask::insights(&settings, september, OutputFormat::Table).await?;
    heading("The people in Sam's life (mneme people --owner sam)")?;
    let people_request = people::PeopleRequest {
        owner: OWNER,
        principal: None,
        limit: Some(8),
        as_of: None,
        graph: None,
        also_me: vec!["Sam".to_owned()],
    };
    people::people(&settings, people_request, OutputFormat::Table).await?;
    heading("Patterns (mneme patterns --owner sam)")?;
    patterns::patterns(&settings, OWNER, None, None, OutputFormat::Table).await?;
    let questions = [
        "when did I start at Fieldwork?",
        "what did we do in Lisbon last summer?",
        "how did I feel the week after Jonas left?",
        "when did I last see Omar?",
        "how often did I run since July?",
    ];
    for question in questions {
        heading(&format!("Asking: \"{question}\" (mneme ask ... --owner sam)"))?;
        let asked = ask::AskRequest {
            question: question.to_owned(),
            owner: OWNER.to_owned(),
            principal: None,
            limit: 5,
            from: None,
            until: None,
            people: Vec::new(),
            kinds: Vec::new(),
            now: Some(DEMO_NOW.to_owned()),
        };
        ask::ask(&settings, asked, OutputFormat::Table).await?;
    }
    heading("Sam's voice (mneme avatar persona --owner sam)")?;
    avatar::avatar(
        &settings,
        OWNER,
        None,
        avatar::AvatarCommand::Persona { from: None, until: None, version: None },
        OutputFormat::Table,
    )
    .await?;
    let prompt = "How is the new job going?";
    heading(&format!("Sam's avatar, asked \"{prompt}\" (mneme avatar say ... --owner sam)"))?;
    let said = avatar::AvatarCommand::Say { prompt: prompt.to_owned(), limit: 5 };
    avatar::avatar(&settings, OWNER, None, said, OutputFormat::Table).await?;

    match system {
        Some(system) if request.keep_running => {
            say(&format!(
                "\nThe demo system keeps running at {url}; try `mneme --nats-url {url} ask \"...\" --owner sam --now \
                 {DEMO_NOW}` (Sam's year is 2024: `--now` reads \"last summer\" as Sam would have). Ctrl-C stops it.",
                url = settings.runtime.nats.url
            ))?;
            mneme_runtime::shutdown_signal().await;
            drop(system);
        }
        Some(system) => {
            say("\nStopping the demo system (`mneme demo --keep-running` leaves it up to explore).")?;
            drop(system);
        }
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}
