//! `mneme pipeline list|run|status`: the declared pipelines, starting a run and following it to its end, and
//! runs' states step by step, all through the orchestrator's endpoints.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use mneme_protocol::pipelines::{
    PipelineRun, PipelineRuns, PipelineStarted, PipelineStatusRequest, Pipelines, RunPipelineRequest, StepStatus,
    message_types,
};
use mneme_runtime::Caller;

use super::{OutputFormat, ask_orchestrator as ask, connect_client, say};
use crate::settings::Settings;

pub enum PipelineCommand {
    List,
    Run { pipeline: String, input: serde_json::Value, deadline_ms: Option<u64>, detach: bool, wait: Duration },
    Status { run_id: Option<String>, limit: usize },
}

/// How often a followed run is read again.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

pub async fn pipeline(settings: &Settings, command: PipelineCommand, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let client = connect_client(settings).await?;
    let caller = Caller::new(client, "mneme-cli", settings.runtime.nats.request_timeout());
    match command {
        PipelineCommand::List => {
            let declared: Pipelines =
                ask(&caller, message_types::LIST_PIPELINES, &serde_json::json!({})).await?.payload_as()?;
            match format {
                OutputFormat::Json => say(&serde_json::to_string_pretty(&declared)?)?,
                OutputFormat::Table => {
                    let mut table = Table::new();
                    table.load_style(UTF8_BORDERS_ONLY).set_header(["pipeline", "stages", "deadline", "about"]);
                    for (name, definition) in &declared.pipelines {
                        let stages: Vec<String> = definition
                            .stages
                            .iter()
                            .map(|stage| format!("{}.{}", stage.agent, stage.message))
                            .collect();
                        table.add_row([
                            name.clone(),
                            stages.join("\n"),
                            format!("{} s", definition.deadline_ms / 1_000),
                            definition.description.clone(),
                        ]);
                    }
                    say(&table.to_string())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PipelineCommand::Run { pipeline, input, deadline_ms, detach, wait } => {
            let request = RunPipelineRequest { pipeline, input, deadline_ms };
            let started: PipelineStarted = ask(&caller, message_types::RUN_PIPELINE, &request).await?.payload_as()?;
            if detach {
                match format {
                    OutputFormat::Json => say(&serde_json::to_string(&started)?)?,
                    OutputFormat::Table => say(&format!("started run {}", started.run_id))?,
                }
                return Ok(ExitCode::SUCCESS);
            }
            let give_up = tokio::time::Instant::now() + wait;
            let mut shown = String::new();
            loop {
                let run = one_run(&caller, &started.run_id).await?;
                if format == OutputFormat::Table {
                    let progress = progress_line(&run);
                    if progress != shown {
                        eprintln!("{progress}");
                        shown = progress;
                    }
                }
                if run.status.is_final() {
                    show_runs(std::slice::from_ref(&run), format)?;
                    return Ok(if run.status == mneme_protocol::pipelines::RunStatus::Done {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    });
                }
                if tokio::time::Instant::now() >= give_up {
                    bail!(
                        "run {} is still {} after {wait:?}; follow it with `mneme pipeline status {}`",
                        run.run_id,
                        run.status.as_str(),
                        run.run_id
                    );
                }
                tokio::time::sleep(FOLLOW_EVERY).await;
            }
        }
        PipelineCommand::Status { run_id, limit } => {
            let request = PipelineStatusRequest { run_id, limit: Some(limit) };
            let runs: PipelineRuns = ask(&caller, message_types::PIPELINE_STATUS, &request).await?.payload_as()?;
            show_runs(&runs.runs, format)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn one_run(caller: &Caller, run_id: &str) -> anyhow::Result<PipelineRun> {
    let request = PipelineStatusRequest { run_id: Some(run_id.to_owned()), limit: None };
    let mut runs: PipelineRuns = ask(caller, message_types::PIPELINE_STATUS, &request).await?.payload_as()?;
    runs.runs.pop().context("the orchestrator answered with no run")
}

/// `run 0193…: running step 2/6 apply_security (attempt 1)`.
fn progress_line(run: &PipelineRun) -> String {
    match run.next_step().filter(|_| !run.status.is_final()) {
        Some(index) => {
            let step = &run.steps[index];
            format!(
                "run {}: {} step {}/{} {} (attempt {})",
                run.run_id,
                run.status.as_str(),
                index + 1,
                run.steps.len(),
                step.name,
                step.attempts.max(1)
            )
        }
        None => format!("run {}: {}", run.run_id, run.status.as_str()),
    }
}

fn millis_between(from: Option<f64>, to: Option<f64>) -> String {
    match (from, to) {
        (Some(from), Some(to)) => format!("{:.0}", (to - from) * 1_000.0),
        _ => String::new(),
    }
}

fn show_runs(runs: &[PipelineRun], format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return say(&serde_json::to_string_pretty(runs)?);
    }
    if runs.is_empty() {
        return say("no pipeline runs are kept");
    }
    for run in runs {
        let took = run.finished_at.map(|end| format!(" in {:.2} s", end - run.created_at)).unwrap_or_default();
        let mut lines = vec![format!("run {} of `{}`: {}{took}", run.run_id, run.pipeline, run.status.as_str())];
        if !run.runners.is_empty() {
            lines.push(format!("  run by {}", run.runners.join(", then ")));
        }
        if let Some(error) = &run.error {
            lines.push(format!("  error: {error}"));
        }
        let mut table = Table::new();
        table.load_style(UTF8_BORDERS_ONLY).set_header([
            "step",
            "agent",
            "status",
            "attempts",
            "ms",
            "answered by",
            "error",
        ]);
        for step in &run.steps {
            let status = match step.status {
                StepStatus::Pending => "pending",
                StepStatus::Running => "running",
                StepStatus::Retrying => "retrying",
                StepStatus::Done => "done",
                StepStatus::Failed => "FAILED",
            };
            table.add_row([
                step.name.clone(),
                step.agent.to_string(),
                status.to_owned(),
                step.attempts.to_string(),
                millis_between(step.started_at, step.finished_at),
                step.agent_id.clone().unwrap_or_default(),
                step.error.clone().unwrap_or_default(),
            ]);
        }
        lines.push(table.to_string());
        say(&lines.join("\n"))?;
    }
    Ok(())
}

/// The run's input: JSON given inline, read from a file, or `{}`.
pub fn read_input(inline: Option<&str>, file: Option<&std::path::Path>) -> anyhow::Result<serde_json::Value> {
    let text = match (inline, file) {
        (Some(text), _) => text.to_owned(),
        (None, Some(path)) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        (None, None) => return Ok(serde_json::json!({})),
    };
    serde_json::from_str(&text).context("the input is not JSON")
}
