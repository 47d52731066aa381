//! The `mneme` command: run the system on this machine, look at it, talk to its agents, pour records into it,
//! and read, forget and audit what it keeps.

mod ask;
mod avatar;
mod charts;
mod demo;
mod dlq;
mod ingest;
mod patterns;
mod people;
mod pipeline;
mod top;
mod vault;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use tokio_util::sync::CancellationToken;

use mneme_protocol::harvester::SourceKind;
use mneme_protocol::insights::DigestPeriod;
use mneme_protocol::orchestrator::SystemStatus;
use mneme_protocol::words::counted;
use mneme_protocol::{AgentMessage, AgentType, ComponentId, Encoding};
use mneme_runtime::settings::DEFAULT_NATS_URL;
use mneme_runtime::{CallError, CallOptions};

use crate::local_nats::{self, LocalNats};
use crate::orchestrator::Orchestrator;
use crate::settings::Settings;
use crate::supervisor::{self, RestartPolicy, Supervisor};

#[derive(Debug, Parser)]
#[command(name = "mneme", version, about = "Mneme, a self-hosted personal memory assistant.")]
pub struct Cli {
    #[command(flatten)]
    global: GlobalOptions,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalOptions {
    /// Settings file (TOML); `MNEME__...` environment variables override it.
    #[arg(long, global = true, env = "MNEME_CONFIG")]
    config: Option<PathBuf>,
    /// NATS server to use, overriding settings (nats.url).
    #[arg(long, global = true)]
    nats_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start every installed agent and the orchestrator, each its own process, restarting any that dies;
    /// with no NATS server configured or running, start one. Ctrl-C stops everything.
    Up {
        /// Instances of each agent.
        #[arg(long)]
        replicas: Option<usize>,
        /// Agent types to start (comma-separated); every installed agent by default.
        #[arg(long, value_delimiter = ',')]
        agents: Vec<AgentType>,
    },
    /// Run a task in parts on the agents that advertise each part's capability, all at once under one
    /// deadline, and print the synthesized answer. The task is JSON: `{"task", "subtasks": [{"capability",
    /// "payload", "agent_type"?}], "strategy": "merge"|"consensus"|"first_good", "quorum"?, "deadline_ms"?}`.
    Collaborate {
        /// The task as JSON.
        task: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Run this many replicas of an agent type under the `mneme up` of this system: new ones start, and the
    /// ones stopped finish the requests they have first. (On Kubernetes, scale the agent's Deployment.)
    Scale {
        agent_type: AgentType,
        replicas: usize,
        /// How long to wait for replicas to finish their work and stop.
        #[arg(long, default_value_t = 60_000)]
        timeout_ms: u64,
    },
    /// Pipelines declared in settings: list them, start a run and follow it, or read runs step by step. A
    /// run survives the orchestrator instance working it: another goes on from the last finished step.
    Pipeline {
        #[command(subcommand)]
        command: PipelineCommand,
        #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// The seed's performance report of each instance over a time range, from the metrics history the
    /// orchestrators' health checks keep: requests, error rate, mean response time and queue, graded A to D.
    Report {
        /// One instance only.
        #[arg(long)]
        agent_id: Option<String>,
        /// One agent type only.
        #[arg(long)]
        agent_type: Option<AgentType>,
        /// How far back, in seconds.
        #[arg(long, default_value_t = 3_600)]
        range_secs: u64,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Every instance's health against the alert thresholds (response time, error rate, queue size), as the
    /// orchestrators' monitors last found it; exits with 1 when an instance is unhealthy.
    Health {
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// A live view of every instance: state, health, requests and failures per second, mean latency, queue
    /// and concurrency, redrawn each interval until Ctrl-C.
    Top {
        #[arg(long, default_value_t = 1_000)]
        interval_ms: u64,
        /// Print this many views one after the other, then stop (for scripts).
        #[arg(long)]
        frames: Option<usize>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Print the accounts, users and least-privilege permissions of a secured NATS server for Mneme: one
    /// user per agent type, the orchestrator, the operators (`admin`) and each client named, every password
    /// read from the server's environment (`MNEME_NATS_PASSWORD_<USER>`). See `deploy/README.md`.
    NatsConfig {
        /// A person or program that uses Mneme (repeatable): a user in the clients' account, allowed to
        /// publish inputs as this owner only.
        #[arg(long = "client")]
        clients: Vec<String>,
        /// `conf` for a nats-server configuration file to include, `helm` for the NATS Helm chart's values.
        #[arg(long, value_enum, default_value_t = NatsConfigFormat::Conf)]
        format: NatsConfigFormat,
    },
    /// Show every running instance with its state and metrics.
    Status {
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Send one request to an agent and print the reply.
    Send {
        /// The agent type, e.g. memory_harvester.
        agent_type: AgentType,
        /// The message type, e.g. process_memory.
        message_type: String,
        /// The payload as JSON; `{}` when absent.
        payload: Option<String>,
        /// Send to this instance only, instead of any instance of the type.
        #[arg(long, conflicts_with = "strategy")]
        instance: Option<String>,
        /// How the instance is chosen: queue_group (NATS picks), round_robin, least_loaded, response_time.
        #[arg(long, default_value = "queue_group")]
        strategy: crate::balancing::Strategy,
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        /// Print only the reply's payload.
        #[arg(long)]
        payload_only: bool,
    },
    /// Read notes, journals, chats, e-mail or CSV (a file, a folder tree, or `-` for standard input) into the
    /// durable ingest stream, follow what becomes of every record, and print a summary.
    Ingest {
        /// A file, a folder, or `-`.
        path: PathBuf,
        /// Whose memories these are.
        #[arg(long, value_parser = parse_name)]
        owner: String,
        /// Read every file as this format instead of detecting it.
        #[arg(long)]
        source_format: Option<mneme_sources::Format>,
        /// CSV columns: `text=body,date=created_at,author=from`.
        #[arg(long)]
        map: Option<String>,
        /// Give up waiting after this many seconds without progress.
        #[arg(long, default_value_t = 120)]
        wait_secs: u64,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Read an owner's memories, as the owner or (with --as) as someone they granted access.
    Memories {
        #[command(subcommand)]
        command: MemoriesCommand,
        #[arg(long, global = true, value_parser = parse_name)]
        owner: Option<String>,
        /// The principal asking; the owner when absent.
        #[arg(long = "as", global = true, value_parser = parse_name)]
        principal: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table, global = true)]
        format: OutputFormat,
    },
    /// The owner's voice: their style read from their own words (persona), answers in it (say), and the
    /// versions of the model kept.
    Avatar {
        #[command(subcommand)]
        command: AvatarCommand,
        #[arg(long, global = true, value_parser = parse_name)]
        owner: Option<String>,
        /// The principal asking; the owner when absent.
        #[arg(long = "as", global = true, value_parser = parse_name)]
        principal: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table, global = true)]
        format: OutputFormat,
    },
    /// Recall: the memories that answer a question, best first ("what did Omar say about the studio last
    /// summer?"). Time expressions, people's names and the owner's own words are read.
    Ask {
        question: String,
        #[arg(long, value_parser = parse_name)]
        owner: String,
        /// The principal asking; the owner when absent.
        #[arg(long = "as", value_parser = parse_name)]
        principal: Option<String>,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Only memories from this day (YYYY-MM-DD) or instant (RFC 3339) on.
        #[arg(long)]
        from: Option<String>,
        /// Only memories up to this day (included) or instant.
        #[arg(long)]
        until: Option<String>,
        /// Only memories written by or with this person (repeat for more).
        #[arg(long = "with")]
        people: Vec<String>,
        /// Only memories from this kind of source (repeat for more).
        #[arg(long = "kind", value_parser = parse_source_kind)]
        kinds: Vec<SourceKind>,
        /// The instant relative expressions ("last summer") count from (RFC 3339); now when absent.
        #[arg(long)]
        now: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Mneme on a year of a made-up life: starts a system of its own (beside yours), ingests Sam's 2024
    /// (a journal, chats, e-mail), and shows a digest, the people, the patterns and an answer to a question.
    Demo {
        /// Leave the demo's system running afterwards, to explore; Ctrl-C stops it.
        #[arg(long)]
        keep_running: bool,
    },
    /// A digest of a day, week, month or year: activity, mood, topics, people, habits, and earlier years.
    Insights {
        /// `rate KIND RATING`: how useful a kind of insight is to the owner, 1 to 5; it moves that kind up or
        /// down in their digests.
        #[command(subcommand)]
        command: Option<InsightsCommand>,
        #[arg(long, global = true, value_parser = parse_name)]
        owner: Option<String>,
        /// The principal asking; the owner when absent.
        #[arg(long = "as", global = true, value_parser = parse_name)]
        principal: Option<String>,
        #[arg(long, value_parser = parse_digest_period, default_value = "week")]
        period: DigestPeriod,
        /// The period's last day (YYYY-MM-DD); the day of the owner's latest memory when absent.
        #[arg(long)]
        ending: Option<String>,
        /// How long the other agents may take for their parts, in milliseconds.
        #[arg(long)]
        deadline_ms: Option<u64>,
        #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// An owner's patterns: when they are active, streaks and gaps, and their mood day by day.
    Patterns {
        #[arg(long, value_parser = parse_name)]
        owner: String,
        /// The principal asking; the owner when absent.
        #[arg(long = "as", value_parser = parse_name)]
        principal: Option<String>,
        /// Also draw mood and activity over time into this SVG file.
        #[arg(long)]
        chart: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// The people of an owner's life, strongest first: relation, contact, rhythm, mood, circles, and drift.
    People {
        #[arg(long, value_parser = parse_name)]
        owner: String,
        /// The principal asking; the owner when absent.
        #[arg(long = "as", value_parser = parse_name)]
        principal: Option<String>,
        /// At most this many people.
        #[arg(long)]
        limit: Option<usize>,
        /// Reckon strength and drift at this day (YYYY-MM-DD) instead of the owner's latest memory.
        #[arg(long)]
        as_of: Option<String>,
        /// Also draw who appears with whom into this file: SVG (.svg) or Graphviz DOT (.dot).
        #[arg(long)]
        graph: Option<PathBuf>,
        /// A name, address or handle the owner goes by in their exports (repeat for more): never a contact.
        #[arg(long = "me")]
        also_me: Vec<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// The names, addresses and handles an owner goes by in their exports, so that they are never their own
    /// contact: shown, or (with names) kept, or (with --clear) dropped.
    Identity {
        names: Vec<String>,
        #[arg(long, value_parser = parse_name)]
        owner: String,
        /// The principal asking; the owner when absent.
        #[arg(long = "as", value_parser = parse_name)]
        principal: Option<String>,
        #[arg(long, conflicts_with = "names")]
        clear: bool,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// One person of an owner's life, by any name they go by: their timeline and whom they appear with.
    Person {
        name: String,
        #[arg(long, value_parser = parse_name)]
        owner: String,
        /// A name, address or handle the owner goes by in their exports (repeat for more): never a contact.
        #[arg(long = "me")]
        also_me: Vec<String>,
        /// The principal asking; the owner when absent.
        #[arg(long = "as", value_parser = parse_name)]
        principal: Option<String>,
        /// How many of their latest memories the table shows, with what each says (JSON gives the whole
        /// timeline, without the texts).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Forget one memory, or (with --yes) everything of an owner: their data key is destroyed first.
    Forget {
        #[arg(long, value_parser = parse_name)]
        owner: String,
        #[arg(long)]
        memory: Option<String>,
        /// Confirms forgetting everything of the owner.
        #[arg(long)]
        yes: bool,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// After a rotation of the master key (guardian.previous_master_key_file set to the old key): wrap every
    /// owner's data key under the new key, so that the old one can be retired. Safe to run again.
    RewrapKeys {
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Show the audit trail: every access decision and forget.
    Audit {
        #[arg(long, value_parser = parse_name)]
        owner: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Inputs that could not become memories.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table, global = true)]
        format: OutputFormat,
    },
    /// Publish an event to every agent, or to chosen agent types.
    Broadcast {
        event_type: String,
        /// The payload as JSON; `{}` when absent.
        payload: Option<String>,
        /// Agent types to reach (comma-separated); all when absent.
        #[arg(long, value_delimiter = ',')]
        to: Vec<AgentType>,
    },
}

#[derive(Debug, Subcommand)]
enum MemoriesCommand {
    /// The newest memories first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One memory in full.
    Show { memory_id: String },
    /// How many memories there are.
    Count,
}

#[derive(Debug, Subcommand)]
enum AvatarCommand {
    /// How the owner writes: vocabulary, signature phrases, sentences, emoji and punctuation, formality,
    /// sentiment, interests and personality indicators.
    Persona {
        /// Only memories from this day (YYYY-MM-DD) or instant (RFC 3339) on.
        #[arg(long)]
        from: Option<String>,
        /// Only memories up to this day (included) or before this instant.
        #[arg(long)]
        until: Option<String>,
        /// As the model snapshot of this version had it (see `mneme avatar versions`).
        #[arg(long, conflicts_with_all = ["from", "until"])]
        version: Option<u64>,
    },
    /// An answer to a prompt in the owner's voice, from their own words.
    Say {
        prompt: String,
        /// How many of the owner's memories to draw on.
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
    /// The model snapshots kept, oldest first.
    Versions,
}

#[derive(Debug, Subcommand)]
enum InsightsCommand {
    /// Rate a kind of insight: activity, mood, topic, people, habit, on_this_day or voice.
    Rate {
        #[arg(value_parser = parse_insight_kind)]
        kind: mneme_protocol::insights::InsightKind,
        /// 1 (not useful) to 5 (very useful).
        #[arg(value_parser = clap::value_parser!(u8).range(1..=5))]
        rating: u8,
    },
}

#[derive(Debug, Subcommand)]
enum PipelineCommand {
    /// The declared pipelines and their stages.
    List,
    /// Start a run and follow it to its end; exits with 1 when the run fails.
    Run {
        pipeline: String,
        /// The run's input as JSON.
        #[arg(long, conflicts_with = "input_file")]
        input: Option<String>,
        /// A file holding the run's input as JSON.
        #[arg(long)]
        input_file: Option<PathBuf>,
        /// Time for the whole run; the pipeline's own deadline when absent.
        #[arg(long)]
        deadline_ms: Option<u64>,
        /// Print the run's id and return at once.
        #[arg(long)]
        detach: bool,
        /// Stop following after this long (the run goes on).
        #[arg(long, default_value_t = 600)]
        wait_secs: u64,
    },
    /// A run's state with each step's attempts, timings and instance; the latest runs without an id.
    Status {
        run_id: Option<String>,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// Every dead letter with its reason.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Send dead letters through the pipeline again (all, or the given sequence numbers).
    Replay { sequences: Vec<u64> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NatsConfigFormat {
    Conf,
    Helm,
}

/// `text` on one line (its runs of white space one space), cut to `max_chars` with an ellipsis: for tables.
fn one_line(text: &str, max_chars: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut line: String = text.chars().take(max_chars).collect();
    if text.chars().count() > max_chars {
        line.push('…');
    }
    line
}

/// Prints a line to standard output; a reader that went away (`mneme status | head`) ends the output quietly.
fn say(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// Runs the command and turns failures into a message and exit code 1.
pub async fn main(cli: Cli) -> ExitCode {
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mneme: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut settings: Settings = mneme_runtime::settings::load(cli.global.config.as_deref())?;
    let url_configured = cli.global.nats_url.is_some() || settings.runtime.nats.url != DEFAULT_NATS_URL;
    if let Some(url) = &cli.global.nats_url {
        settings.runtime.nats.url.clone_from(url);
    }
    match cli.command {
        Command::Up { replicas, agents } => {
            if let Some(replicas) = replicas {
                settings.supervisor.replicas = replicas.max(1);
            }
            if !agents.is_empty() {
                settings.supervisor.agents = agents;
            }
            up(settings, url_configured, cli.global.config).await
        }
        Command::NatsConfig { clients, format } => {
            let text = match format {
                NatsConfigFormat::Conf => crate::security::server_config(&clients)?,
                NatsConfigFormat::Helm => crate::security::helm_values(&clients)?,
            };
            say(text.trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { format } => status(&settings, format).await,
        Command::Health { format } => health(&settings, format).await,
        Command::Top { interval_ms, frames, format } => {
            top::top(&settings, Duration::from_millis(interval_ms.max(100)), frames, format).await
        }
        Command::Report { agent_id, agent_type, range_secs, format } => {
            let request = mneme_protocol::orchestrator::PerformanceReportRequest {
                agent_id,
                agent_type: agent_type.map(|agent| agent.as_str().to_owned()),
                time_range_secs: Some(range_secs),
            };
            report(&settings, &request, format).await
        }
        Command::Pipeline { command, format } => {
            let command = match command {
                PipelineCommand::List => pipeline::PipelineCommand::List,
                PipelineCommand::Run { pipeline, input, input_file, deadline_ms, detach, wait_secs } => {
                    pipeline::PipelineCommand::Run {
                        pipeline,
                        input: pipeline::read_input(input.as_deref(), input_file.as_deref())?,
                        deadline_ms,
                        detach,
                        wait: Duration::from_secs(wait_secs),
                    }
                }
                PipelineCommand::Status { run_id, limit } => pipeline::PipelineCommand::Status { run_id, limit },
            };
            pipeline::pipeline(&settings, command, format).await
        }
        Command::Scale { agent_type, replicas, timeout_ms } => scale(&settings, agent_type, replicas, timeout_ms).await,
        Command::Collaborate { task, format } => collaborate(&settings, &task, format).await,
        Command::Ingest { path, owner, source_format, map, wait_secs, format } => {
            let request = ingest::IngestRequest {
                path,
                owner,
                format: source_format,
                csv_mapping: map,
                wait: Duration::from_secs(wait_secs),
                output: format,
            };
            ingest::ingest(&settings, request).await
        }
        Command::Memories { command, owner, principal, format } => {
            let owner = owner.context("--owner is required")?;
            let command = match command {
                MemoriesCommand::List { limit } => vault::MemoriesCommand::List { limit },
                MemoriesCommand::Show { memory_id } => vault::MemoriesCommand::Show { memory_id },
                MemoriesCommand::Count => vault::MemoriesCommand::Count,
            };
            vault::memories(&settings, &owner, principal.as_deref(), command, format).await
        }
        Command::Avatar { command, owner, principal, format } => {
            let owner = owner.context("--owner is required")?;
            let command = match command {
                AvatarCommand::Persona { from, until, version } => {
                    avatar::AvatarCommand::Persona { from, until, version }
                }
                AvatarCommand::Say { prompt, limit } => avatar::AvatarCommand::Say { prompt, limit },
                AvatarCommand::Versions => avatar::AvatarCommand::Versions,
            };
            avatar::avatar(&settings, &owner, principal.as_deref(), command, format).await
        }
        Command::Ask { question, owner, principal, limit, from, until, people, kinds, now, format } => {
            let request = ask::AskRequest { question, owner, principal, limit, from, until, people, kinds, now };
            ask::ask(&settings, request, format).await
        }
        Command::Demo { keep_running } => {
            demo::demo(settings, url_configured, demo::DemoRequest { keep_running }).await
        }
        Command::Insights { command, owner, principal, period, ending, deadline_ms, format } => {
            let owner = owner.context("--owner is required")?;
            match command {
                Some(InsightsCommand::Rate { kind, rating }) => {
                    ask::rate(&settings, owner, principal, kind, rating, format).await
                }
                None => {
                    let request = ask::InsightsRequest { owner, principal, period, ending, deadline_ms };
                    ask::insights(&settings, request, format).await
                }
            }
        }
        Command::Patterns { owner, principal, chart, format } => {
            patterns::patterns(&settings, &owner, principal.as_deref(), chart.as_deref(), format).await
        }
        Command::People { owner, principal, limit, as_of, graph, also_me, format } => {
            let request = people::PeopleRequest {
                owner: &owner,
                principal: principal.as_deref(),
                limit,
                as_of,
                graph: graph.as_deref(),
                also_me,
            };
            people::people(&settings, request, format).await
        }
        Command::Identity { names, owner, principal, clear, format } => {
            let change = (clear || !names.is_empty()).then_some(names);
            people::identity(&settings, &owner, principal.as_deref(), change, format).await
        }
        Command::Person { name, owner, principal, also_me, limit, format } => {
            let asked = people::PersonRequest { owner: &owner, principal: principal.as_deref(), name: &name, limit };
            people::person(&settings, asked, also_me, format).await
        }
        Command::Forget { owner, memory, yes, format } => vault::forget(&settings, &owner, memory, yes, format).await,
        Command::RewrapKeys { format } => vault::rewrap_keys(&settings, format).await,
        Command::Audit { owner, limit, format } => vault::audit(&settings, owner.as_deref(), limit, format).await,
        Command::Dlq { command, format } => match command {
            DlqCommand::List { limit } => dlq::list(&settings, limit, format).await,
            DlqCommand::Replay { sequences } => dlq::replay(&settings, &sequences, format).await,
        },
        Command::Send { agent_type, message_type, payload, instance, strategy, timeout_ms, payload_only } => {
            let target = match instance {
                Some(id) => SendTarget::Instance(id),
                None => SendTarget::Strategy(strategy),
            };
            send(&settings, agent_type, &message_type, payload.as_deref(), target, timeout_ms, payload_only).await
        }
        Command::Broadcast { event_type, payload, to } => {
            broadcast(&settings, &event_type, payload.as_deref(), &to).await
        }
    }
}

async fn up(settings: Settings, url_configured: bool, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let _telemetry = mneme_runtime::telemetry::init("mneme", &settings.runtime.telemetry)?;
    let supervisor_settings = &settings.supervisor;
    let mut local = None;
    let url = if url_configured {
        settings.runtime.nats.url.clone()
    } else if local_nats::answers("127.0.0.1", supervisor_settings.local_nats_port).await? {
        tracing::info!(port = supervisor_settings.local_nats_port, "Using the NATS server already running here.");
        format!("nats://127.0.0.1:{}", supervisor_settings.local_nats_port)
    } else {
        let key_file = supervisor_settings.data_dir().join("jetstream.key");
        supervisor::ensure_key_file(&key_file)
            .with_context(|| format!("cannot make the store key {}", key_file.display()))?;
        let store_key = std::fs::read_to_string(&key_file)
            .with_context(|| format!("cannot read the store key {}", key_file.display()))?;
        let server = LocalNats::start(
            &supervisor_settings.nats_server_binary,
            &supervisor_settings.data_dir(),
            supervisor_settings.local_nats_port,
            store_key.trim(),
        )
        .await?;
        let url = server.url.clone();
        local = Some(server);
        url
    };

    let dir = supervisor::executable_dir().context("cannot tell where the mneme executables are")?;
    let agents = supervisor::available_agents(&dir, &supervisor_settings.agents);
    if agents.is_empty() {
        tracing::warn!(dir = %dir.display(), "No agent executables found beside `mneme`; starting the orchestrator only.");
    }
    // Children stop with `mneme up` however it ends, a `kill -9` included.
    let mut environment = vec![
        ("MNEME__NATS__URL".to_owned(), url.clone()),
        (mneme_runtime::shutdown::STOP_WITH_PARENT.to_owned(), "1".to_owned()),
    ];
    if let Some(config) = config {
        environment.push(("MNEME_CONFIG".to_owned(), config.display().to_string()));
    }
    let key_configured = ["MNEME__GUARDIAN__MASTER_KEY_FILE", "MNEME__GUARDIAN__MASTER_KEY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    if !key_configured {
        let key_file = supervisor_settings.master_key_file();
        if supervisor::ensure_key_file(&key_file)
            .with_context(|| format!("cannot make the master key {}", key_file.display()))?
        {
            tracing::info!(file = %key_file.display(), "Made a master key; keep it safe and back it up.");
        }
        environment.push(("MNEME__GUARDIAN__MASTER_KEY_FILE".to_owned(), key_file.display().to_string()));
    }
    let agent_names: Vec<&str> = agents.iter().map(|agent| agent.as_str()).collect();
    tracing::info!(%url, agents = %agent_names.join(", "), replicas = supervisor_settings.replicas, "Mneme is starting. Try `mneme status` in another terminal; Ctrl-C stops everything.");

    let supervisor = Supervisor::start(
        &dir,
        &agents,
        supervisor_settings.replicas,
        environment,
        RestartPolicy::from(supervisor_settings),
        supervisor_settings.max_replicas,
    )
    .await;
    // `mneme scale` reaches this supervisor over NATS; alerts go out the same way.
    let stop_control = CancellationToken::new();
    let mut control_nats = settings.runtime.nats.clone();
    control_nats.url.clone_from(&url);
    let autoscale = settings.autoscale.clone();
    let request_timeout = settings.runtime.nats.request_timeout();
    let discovery_window = settings.orchestrator.discovery_window();
    let control = {
        let (supervisor, stop) = (supervisor.clone(), stop_control.clone());
        tokio::spawn(async move {
            match mneme_runtime::connection::connect(&control_nats, "mneme-supervisor").await {
                Ok((client, _)) => {
                    supervisor.alert_with(client.clone());
                    if autoscale.enabled && !autoscale.policies.is_empty() {
                        let orchestrator = Orchestrator::new(client.clone(), "mneme-supervisor", request_timeout)
                            .with_discovery_window(discovery_window);
                        let autoscaler = crate::autoscale::Autoscaler::new(supervisor.clone(), orchestrator, autoscale);
                        tokio::spawn(autoscaler.run(stop.clone()));
                    }
                    if let Err(error) = supervisor::serve_control(supervisor, client.clone(), stop).await {
                        tracing::error!(%error, "`mneme scale` cannot reach this supervisor.");
                    }
                    let _ = client.drain().await;
                }
                Err(error) => {
                    tracing::error!(%error, "The supervisor cannot connect; `mneme scale` will not reach it.")
                }
            }
        })
    };
    mneme_runtime::shutdown_signal().await;
    stop_control.cancel();
    let _ = control.await;
    supervisor.stop().await;
    if let Some(server) = local {
        server.stop(Duration::from_secs(10)).await;
    }
    tracing::info!("Mneme stopped.");
    Ok(ExitCode::SUCCESS)
}

/// Connects for a one-off command: fail at once, with a hint, when no server answers.
async fn connect_client(settings: &Settings) -> anyhow::Result<async_nats::Client> {
    let mut nats = settings.runtime.nats.clone();
    nats.retry_on_initial_connect = false;
    let (client, _) = mneme_runtime::connection::connect(&nats, "mneme-cli").await.with_context(|| {
        format!("is Mneme running? Start it with `mneme up`, or point --nats-url at its NATS server ({})", nats.url)
    })?;
    Ok(client)
}

/// Request-reply with any orchestrator process's own endpoint; its refusal becomes the error's message.
async fn ask_orchestrator<P: serde::Serialize>(
    caller: &mneme_runtime::Caller,
    message_type: &str,
    payload: &P,
) -> anyhow::Result<AgentMessage> {
    let target = mneme_runtime::Target::AnyOf(mneme_protocol::ComponentKind::Orchestrator);
    let options = CallOptions { retry_no_responders: false, ..CallOptions::default() };
    match caller.call(&target, message_type, payload, &options).await {
        Err(CallError::NoResponders { .. }) => bail!("no orchestrator is running; start Mneme with `mneme up`"),
        Err(CallError::Remote { error, .. }) => bail!("{}", error.error),
        other => other.context("the orchestrator did not answer"),
    }
}

async fn connect(settings: &Settings) -> anyhow::Result<Orchestrator> {
    let client = connect_client(settings).await?;
    Ok(Orchestrator::new(client, "mneme-cli", settings.runtime.nats.request_timeout())
        .with_discovery_window(settings.orchestrator.discovery_window()))
}

async fn scale(settings: &Settings, agent: AgentType, replicas: usize, timeout_ms: u64) -> anyhow::Result<ExitCode> {
    use mneme_protocol::orchestrator::{ScaleRequest, Scaled, message_types};

    let client = connect_client(settings).await?;
    let caller = mneme_runtime::Caller::new(client, "mneme-cli", Duration::from_millis(timeout_ms));
    let message = mneme_protocol::AgentMessage::with_payload(
        message_types::SCALE,
        &ScaleRequest { agent_type: agent, replicas },
    )?;
    let options = CallOptions { retry_no_responders: false, ..CallOptions::default() };
    let reply = match caller.send(mneme_protocol::subjects::SUPERVISOR_SCALE.to_owned(), message, &options).await {
        Err(mneme_runtime::CallError::NoResponders { .. }) => {
            bail!("no `mneme up` is running on this system to scale; on Kubernetes, scale the agent's Deployment")
        }
        other => other?,
    };
    let scaled: Scaled = reply.payload_as()?;
    say(&format!("{}: {} -> {}", scaled.agent_type, scaled.before, counted(scaled.after, "replica", "replicas")))?;
    Ok(ExitCode::SUCCESS)
}

async fn collaborate(settings: &Settings, task: &str, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let request: mneme_protocol::orchestrator::CollaborateRequest =
        serde_json::from_str(task).context("the task is not a collaboration request")?;
    let orchestrator = connect(settings).await?;
    let instances = orchestrator.discover(None).await?;
    let balancer = crate::balancing::Balancer::new(orchestrator, Duration::from_secs(60));
    let result = crate::collaboration::collaborate(&balancer, &instances, request).await?;
    match format {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&result)?)?,
        OutputFormat::Table => {
            let mut lines = vec![format!(
                "{}: {} ({}, {} ms)",
                result.task,
                if result.complete { "complete" } else { "PARTIAL" },
                serde_json::to_value(result.strategy)?.as_str().unwrap_or_default(),
                result.elapsed_ms
            )];
            for part in &result.results {
                lines.push(format!(
                    "  #{} {} by {} in {} ms: {}",
                    part.index, part.capability, part.agent_id, part.elapsed_ms, part.payload
                ));
            }
            for part in &result.missing {
                lines.push(format!("  #{} {} missing: {}", part.index, part.capability, part.reason));
            }
            if let Some(outcome) = &result.outcome {
                let agreement = match (result.agreed, result.quorum) {
                    (Some(agreed), Some(quorum)) => format!(" ({agreed} agree, {quorum} needed)"),
                    _ => String::new(),
                };
                lines.push(format!("outcome{agreement}: {outcome}"));
            }
            say(&lines.join("\n"))?;
        }
    }
    Ok(if result.complete { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn report(
    settings: &Settings,
    request: &mneme_protocol::orchestrator::PerformanceReportRequest,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    use mneme_protocol::orchestrator::{PerformanceReports, message_types};

    let client = connect_client(settings).await?;
    let caller = mneme_runtime::Caller::new(client, "mneme-cli", settings.runtime.nats.request_timeout());
    let reports: PerformanceReports =
        ask_orchestrator(&caller, message_types::PERFORMANCE_REPORT, request).await?.payload_as()?;
    match format {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&reports)?)?,
        OutputFormat::Table if reports.reports.is_empty() => {
            say(&format!("no samples in the last {} s", reports.time_range_secs))?;
        }
        OutputFormat::Table => {
            let mut table = Table::new();
            table.load_style(UTF8_BORDERS_ONLY).set_header([
                "instance",
                "grade",
                "requests",
                "failed",
                "failure rate",
                "mean (ms)",
                "mean queue",
                "restarts",
                "samples",
            ]);
            for report in &reports.reports {
                table.add_row([
                    report.agent_id.clone(),
                    format!("{:?}", report.performance_grade),
                    report.total_messages_processed.to_string(),
                    report.total_errors.to_string(),
                    format!("{:.2}%", report.error_rate * 100.0),
                    format!("{:.1}", report.avg_response_time * 1_000.0),
                    format!("{:.1}", report.avg_queue_size),
                    report.restarts.to_string(),
                    report.samples.to_string(),
                ]);
            }
            say(&format!(
                "the last {} s (grades: A < 1% errors and < 1 s; B < 5%, < 2 s; C < 10%, < 5 s; D otherwise)",
                reports.time_range_secs
            ))?;
            say(&table.to_string())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn health(settings: &Settings, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let orchestrator = connect(settings).await?;
    let jetstream = async_nats::jetstream::new(orchestrator.client().clone());
    let mut health = crate::health::recorded(&jetstream, settings.health.thresholds()).await?;
    let mut note = None;
    if health.instances.is_empty() {
        // No monitor has run (no orchestrator, or health checks off): look once, recording nothing.
        health = crate::health::HealthMonitor::observer(orchestrator, settings.health.clone()).check().await?;
        note = Some("(checked just now: no orchestrator has recorded health)");
    }
    match format {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&health)?)?,
        OutputFormat::Table => {
            let mut table = Table::new();
            table.load_style(UTF8_BORDERS_ONLY).set_header([
                "instance",
                "health",
                "state",
                "requests",
                "failed",
                "mean (ms)",
                "queue",
                "checked",
                "issues",
            ]);
            for instance in &health.instances {
                table.add_row([
                    instance.agent_id.clone(),
                    if instance.healthy { "healthy".to_owned() } else { "UNHEALTHY".to_owned() },
                    instance.state.to_string(),
                    instance.requests.to_string(),
                    instance.errors.to_string(),
                    instance
                        .mean_processing_time
                        .map(|mean| format!("{:.1}", mean * 1e3))
                        .unwrap_or_else(|| "-".to_owned()),
                    instance.queue_size.map(|queue| queue.to_string()).unwrap_or_else(|| "-".to_owned()),
                    instance.checked_at.clone(),
                    instance.issues.join("; "),
                ]);
            }
            let thresholds = &health.thresholds;
            let mut text = format!(
                "{}\n{}: thresholds {} s mean response, {:.0}% errors, {} queued (requests, errors and mean: since \
                 the check before)",
                table,
                if health.healthy { "healthy" } else { "UNHEALTHY" },
                thresholds.response_time_secs,
                thresholds.error_rate * 100.0,
                thresholds.queue_size
            );
            if let Some(note) = note {
                text.push_str(&format!("\n{note}"));
            }
            say(&text)?;
        }
    }
    Ok(if health.healthy { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn status(settings: &Settings, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let orchestrator = connect(settings).await?;
    let status = orchestrator.system_status().await?;
    match format {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&status)?)?,
        OutputFormat::Table => say(&status_table(&status))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The status as people read it: one row per instance, then the types with none running.
pub fn status_table(status: &SystemStatus) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header([
        "agent type",
        "instance",
        "state",
        "processed",
        "errors",
        "avg ms",
        "queue",
        "uptime",
        "last activity",
    ]);
    let now = mneme_protocol::message::unix_now();
    for instance in status.agents.iter().chain(&status.orchestrators) {
        let row: Vec<String> = match &instance.stats {
            Some(stats) => vec![
                instance.agent_type.clone(),
                instance.agent_id.clone(),
                stats.state.to_string(),
                stats.messages_processed.to_string(),
                stats.errors_count.to_string(),
                format!("{:.2}", stats.avg_processing_time * 1000.0),
                stats.queue_size.to_string(),
                human_duration(stats.uptime_secs),
                stats
                    .last_activity
                    .map_or_else(|| "never".to_owned(), |at| format!("{} ago", human_duration(now - at))),
            ],
            None => vec![
                instance.agent_type.clone(),
                instance.agent_id.clone(),
                instance.state.to_string(),
                instance.error.clone().unwrap_or_default(),
            ],
        };
        table.add_row(row);
    }
    let missing: Vec<&str> =
        status.instances_by_type.iter().filter(|(_, count)| **count == 0).map(|(agent, _)| agent.as_str()).collect();
    let mut text = format!(
        "{}, {} active; {}\n{table}",
        counted(status.total_agents, "agent instance", "agent instances"),
        status.active_agents,
        counted(status.orchestrators.len(), "orchestrator", "orchestrators")
    );
    if !missing.is_empty() {
        text.push_str(&format!("\nnot running: {}", missing.join(", ")));
    }
    text
}

fn human_duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0) as u64;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        3_600..86_400 => format!("{}h{:02}m", seconds / 3_600, seconds % 3_600 / 60),
        _ => format!("{}d{:02}h", seconds / 86_400, seconds % 86_400 / 3_600),
    }
}

/// An owner or principal: any name but an empty one, which names nobody.
fn parse_name(text: &str) -> Result<String, String> {
    if text.trim().is_empty() { Err("a name is needed, not an empty one".to_owned()) } else { Ok(text.to_owned()) }
}

fn parse_digest_period(text: &str) -> Result<DigestPeriod, String> {
    const PERIODS: [DigestPeriod; 4] = [DigestPeriod::Day, DigestPeriod::Week, DigestPeriod::Month, DigestPeriod::Year];
    PERIODS
        .into_iter()
        .find(|period| period.as_str() == text)
        .ok_or_else(|| format!("`{text}` is not a period; one of {}", PERIODS.map(DigestPeriod::as_str).join(", ")))
}

fn parse_insight_kind(text: &str) -> Result<mneme_protocol::insights::InsightKind, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        format!("`{text}` is not a kind of insight; one of activity, mood, topic, people, habit, on_this_day, voice")
    })
}

fn parse_source_kind(text: &str) -> Result<SourceKind, String> {
    const KINDS: [SourceKind; 6] =
        [SourceKind::Text, SourceKind::Note, SourceKind::Journal, SourceKind::Chat, SourceKind::Email, SourceKind::Csv];
    KINDS
        .into_iter()
        .find(|kind| kind.as_str() == text)
        .ok_or_else(|| format!("`{text}` is not a kind of source; one of {}", KINDS.map(SourceKind::as_str).join(", ")))
}

fn parse_payload(payload: Option<&str>) -> anyhow::Result<serde_json::Value> {
    match payload {
        None => Ok(serde_json::json!({})),
        Some(text) => serde_json::from_str(text).context("the payload is not valid JSON"),
    }
}

/// Where `mneme send` goes: one instance, or the instance a strategy picks.
enum SendTarget {
    Instance(String),
    Strategy(crate::balancing::Strategy),
}

async fn send(
    settings: &Settings,
    agent: AgentType,
    message_type: &str,
    payload: Option<&str>,
    target: SendTarget,
    timeout_ms: u64,
    payload_only: bool,
) -> anyhow::Result<ExitCode> {
    let payload = parse_payload(payload)?;
    let orchestrator = connect(settings).await?;
    let options = CallOptions {
        timeout: Some(Duration::from_millis(timeout_ms)),
        encoding: Encoding::Json,
        ..Default::default()
    };
    let reply = match target {
        SendTarget::Instance(id) => {
            let id = ComponentId::parse(&id).with_context(|| format!("`{id}` is not an instance id"))?;
            if id.kind().agent_type() != Some(agent) {
                bail!("instance {id} is not a {agent}");
            }
            orchestrator.send_to(&id, message_type, &payload, &options).await
        }
        SendTarget::Strategy(strategy) => {
            let balancer = crate::balancing::Balancer::new(orchestrator, Duration::from_secs(60));
            balancer.send(agent, message_type, &payload, &options, strategy).await
        }
    };
    match reply {
        Ok(reply) => {
            print_message(&reply, payload_only)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(CallError::Remote { error, .. }) => {
            eprintln!("{} answered error {} ({}): {}", agent, error.code, error.kind, error.error);
            Ok(ExitCode::FAILURE)
        }
        Err(error) => Err(error.into()),
    }
}

fn print_message(message: &AgentMessage, payload_only: bool) -> anyhow::Result<()> {
    let text = if payload_only {
        serde_json::to_string_pretty(&message.payload)?
    } else {
        serde_json::to_string_pretty(message)?
    };
    say(&text)
}

async fn broadcast(
    settings: &Settings,
    event_type: &str,
    payload: Option<&str>,
    to: &[AgentType],
) -> anyhow::Result<ExitCode> {
    let payload = parse_payload(payload)?;
    let orchestrator = connect(settings).await?;
    let sent = orchestrator.broadcast(event_type, &payload, (!to.is_empty()).then_some(to)).await?;
    orchestrator.client().flush().await.context("the event could not be flushed to NATS")?;
    say(&format!("event {} published on {}", sent.event_id, sent.subjects.join(", ")))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(5.2), "5s");
        assert_eq!(human_duration(125.0), "2m05s");
        assert_eq!(human_duration(7_380.0), "2h03m");
        assert_eq!(human_duration(90_000.0), "1d01h");
    }

    #[test]
    fn the_command_line_parses() {
        let cli = Cli::try_parse_from(["mneme", "send", "memory_harvester", "process_memory", r#"{"raw_input":"x"}"#])
            .unwrap();
        assert!(matches!(cli.command, Command::Send { agent_type: AgentType::MemoryHarvester, .. }));
        let cli = Cli::try_parse_from(["mneme", "up", "--agents", "memory_harvester,privacy_guardian"]).unwrap();
        assert!(matches!(cli.command, Command::Up { ref agents, .. } if agents.len() == 2));
        assert!(Cli::try_parse_from(["mneme", "send", "harvester", "x"]).is_err());
    }

    #[test]
    fn an_empty_owner_or_principal_is_refused_before_anything_is_asked() {
        for arguments in [
            &["mneme", "people", "--owner", ""][..],
            &["mneme", "ask", "hello", "--owner", "  "],
            &["mneme", "memories", "list", "--owner", "ann", "--as", ""],
            &["mneme", "ingest", "notes", "--owner", ""],
        ] {
            let error = Cli::try_parse_from(arguments).unwrap_err();
            assert!(error.to_string().contains("a name is needed"), "{arguments:?}: {error}");
        }
        assert!(Cli::try_parse_from(["mneme", "people", "--owner", "ann"]).is_ok());
    }
}
