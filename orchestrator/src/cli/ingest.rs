//! `mneme ingest`: reads files (or standard input) into inputs, publishes them into the durable ingest stream,
//! follows what becomes of each, and ends with a summary.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use mneme_protocol::AgentMessage;
use mneme_protocol::harvester::{ProcessMemoryRequest, message_types};
use mneme_protocol::ingest::{IngestOutcome, IngestReport};
use mneme_protocol::subjects::{self, headers};
use mneme_protocol::words::counted;
use mneme_sources::{CsvMapping, Format, ReadOptions};

use super::{OutputFormat, say};
use crate::settings::Settings;

/// What `mneme ingest` was asked to do.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub path: PathBuf,
    pub owner: String,
    pub format: Option<Format>,
    pub csv_mapping: Option<String>,
    /// How long to wait for every input to be settled after the last is published.
    pub wait: Duration,
    pub output: OutputFormat,
}

/// The tally, printed at the end.
#[derive(Debug, Default, Serialize)]
pub struct IngestSummary {
    pub files: usize,
    pub files_failed: Vec<String>,
    pub inputs: usize,
    pub ingested: usize,
    pub already_stored: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// Rejection reasons with how often each occurred.
    pub rejected_reasons: BTreeMap<String, usize>,
    /// Published before, within the ingest stream's duplicate window: stored once, nothing to wait for.
    pub republished: usize,
    /// Published, but not settled when the wait ended; the pipeline still works on them.
    pub unsettled: usize,
    pub seconds: f64,
}

/// Reads what `request.path` holds: every file Mneme reads under it, or standard input for `-`.
fn read_inputs(request: &IngestRequest, summary: &mut IngestSummary) -> anyhow::Result<Vec<ProcessMemoryRequest>> {
    let mut options = ReadOptions { format: request.format, csv: CsvMapping::default() };
    if let Some(mapping) = &request.csv_mapping {
        options.csv = mapping.parse().context("--map")?;
    }
    let mut inputs = Vec::new();
    if request.path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).context("cannot read standard input")?;
        let format = options.format.or_else(|| mneme_sources::detect("stdin", &bytes)).unwrap_or(Format::Note);
        summary.files = 1;
        inputs = mneme_sources::parse(format, &bytes, "stdin", None, &options)?;
    } else {
        for file in mneme_sources::read_path(&request.path, &options)? {
            summary.files += 1;
            match file.inputs {
                Ok(found) => inputs.extend(found),
                Err(error) => {
                    eprintln!("mneme: skipping {}: {error}", file.path.display());
                    summary.files_failed.push(format!("{}: {error}", file.path.display()));
                }
            }
        }
    }
    for input in &mut inputs {
        input.owner = Some(request.owner.clone());
    }
    Ok(inputs)
}

/// The id JetStream de-duplicates a publish by: the same owner, source and text always give the same id.
fn message_id(input: &ProcessMemoryRequest) -> String {
    const INPUTS: uuid::Uuid = uuid::Uuid::from_u128(0x6d6e_656d_652d_696e_7075_742d_6964_7331);
    let name = format!(
        "{}\u{0}{}\u{0}{}",
        input.owner.as_deref().unwrap_or_default(),
        input.source.as_deref().unwrap_or_default(),
        input.raw_input
    );
    uuid::Uuid::new_v5(&INPUTS, name.as_bytes()).simple().to_string()
}

fn progress(total: usize, output: OutputFormat) -> ProgressBar {
    let bar = if output == OutputFormat::Json { ProgressBar::hidden() } else { ProgressBar::new(total as u64) };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} settled  {per_sec}  ETA {eta}  {msg}")
            .expect("a valid progress template"),
    );
    bar
}

pub async fn ingest(settings: &Settings, request: IngestRequest) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut summary = IngestSummary::default();
    let inputs = read_inputs(&request, &mut summary)?;
    summary.inputs = inputs.len();
    let client = super::connect_client(settings).await?;
    let jetstream = jetstream::new(client.clone());
    crate::ingest::ensure_streams(&jetstream, &settings.ingest).await?;

    let inbox = client.new_inbox();
    let mut reports = client.subscribe(inbox.clone()).await.context("cannot subscribe for reports")?;
    client.flush().await.context("cannot reach NATS")?;
    let bar = progress(inputs.len(), request.output);
    let subject = subjects::ingest(&request.owner);

    // Publishes are pipelined: many in flight, each acknowledged by JetStream once stored.
    let mut expected = 0usize;
    let mut acks = futures::stream::FuturesUnordered::new();
    const IN_FLIGHT: usize = 256;
    for input in &inputs {
        let mut message_headers = HeaderMap::new();
        message_headers.insert(headers::MSG_ID, message_id(input).as_str());
        message_headers.insert(headers::REPORT_TO, inbox.as_str());
        let body = AgentMessage::with_payload(message_types::PROCESS_MEMORY, input)?
            .encode(mneme_protocol::Encoding::MessagePack)?;
        let ack = jetstream
            .publish_with_headers(subject.clone(), message_headers, body.into())
            .await
            .context("cannot publish into the ingest stream")?;
        acks.push(ack.into_future());
        while acks.len() >= IN_FLIGHT {
            tally_ack(acks.next().await, &mut expected, &mut summary)?;
        }
    }
    while !acks.is_empty() {
        tally_ack(acks.next().await, &mut expected, &mut summary)?;
    }
    bar.set_length(expected as u64);
    bar.set_message(format!("{} published", inputs.len()));

    let mut settled = 0usize;
    let mut deadline = tokio::time::Instant::now() + request.wait;
    while settled < expected {
        let report = tokio::select! {
            report = reports.next() => report,
            () = tokio::time::sleep_until(deadline) => break,
        };
        let Some(report) = report else { break };
        let Ok(report) = rmp_serde::from_slice::<IngestReport>(&report.payload) else { continue };
        settled += 1;
        bar.inc(1);
        // Progress keeps the wait alive: only a pipeline that stopped moving runs out the clock.
        deadline = tokio::time::Instant::now() + request.wait;
        match report.outcome {
            IngestOutcome::Stored { .. } => summary.ingested += 1,
            IngestOutcome::AlreadyStored { .. } => summary.already_stored += 1,
            IngestOutcome::Duplicate { .. } => summary.duplicates += 1,
            IngestOutcome::Rejected { reason } => {
                summary.rejected += 1;
                *summary.rejected_reasons.entry(reason).or_default() += 1;
            }
        }
    }
    bar.finish_and_clear();
    summary.unsettled = expected - settled;
    summary.seconds = started.elapsed().as_secs_f64();
    match request.output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&summary)?)?,
        OutputFormat::Table => say(&summary_text(&summary))?,
    }
    Ok(if summary.files_failed.is_empty() && summary.unsettled == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn tally_ack(
    ack: Option<Result<jetstream::publish::PublishAck, jetstream::context::PublishError>>,
    expected: &mut usize,
    summary: &mut IngestSummary,
) -> anyhow::Result<()> {
    let ack = ack.expect("only awaited while some are in flight").context("the ingest stream did not take an input")?;
    if ack.duplicate {
        summary.republished += 1;
    } else {
        *expected += 1;
    }
    Ok(())
}

fn summary_text(summary: &IngestSummary) -> String {
    let mut lines = vec![format!(
        "{} from {} in {:.1}s: {} ingested, {} already stored, {}, {} rejected",
        counted(summary.inputs, "input", "inputs"),
        counted(summary.files, "file", "files"),
        summary.seconds,
        summary.ingested,
        summary.already_stored,
        counted(summary.duplicates, "duplicate", "duplicates"),
        summary.rejected
    )];
    if summary.republished > 0 {
        lines.push(format!(
            "{} published recently already and not processed twice",
            counted(summary.republished, "input", "inputs")
        ));
    }
    for (reason, count) in &summary.rejected_reasons {
        lines.push(format!("  rejected {count}x: {reason}"));
    }
    for failed in &summary.files_failed {
        lines.push(format!("  file failed: {failed}"));
    }
    if summary.unsettled > 0 {
        lines.push(format!(
            "{} not settled yet: safe in the ingest stream, and processed when the pipeline runs",
            counted(summary.unsettled, "input", "inputs")
        ));
    }
    lines.join("\n")
}
