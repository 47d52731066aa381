//! `mneme memories`, `mneme forget` and `mneme audit`: reading the guardian's vault as a principal, forgetting,
//! and reading the audit trail.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_nats::jetstream::{self, consumer};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use futures::StreamExt;

use mneme_protocol::AgentType;
use mneme_protocol::guardian::{
    AuditRecord, CountMemoriesRequest, ForgetRequest, Forgotten, GetMemoryRequest, KeysRewrapped, ListMemoriesRequest,
    MemoriesReply, MemoryCount, MemoryReply, MemoryView, message_types,
};
use mneme_protocol::subjects::jetstream::AUDIT_STREAM;
use mneme_protocol::words::counted;
use mneme_runtime::call::CallOptions;

use super::{OutputFormat, say};
use crate::settings::Settings;

pub(super) const GUARDIAN: AgentType = AgentType::PrivacyGuardian;

/// What `mneme memories` does.
#[derive(Debug, Clone)]
pub enum MemoriesCommand {
    List { limit: usize },
    Show { memory_id: String },
    Count,
}

pub async fn memories(
    settings: &Settings,
    owner: &str,
    principal: Option<&str>,
    command: MemoriesCommand,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let orchestrator = super::connect(settings).await?;
    let caller = &orchestrator;
    let principal = principal.unwrap_or(owner).to_owned();
    let options = CallOptions::default();
    match command {
        MemoriesCommand::List { limit } => {
            let request = ListMemoriesRequest { principal, owner: owner.to_owned(), limit: Some(limit) };
            let reply: MemoriesReply =
                caller.send(GUARDIAN, message_types::LIST_MEMORIES, &request, &options).await?.payload_as()?;
            match output {
                OutputFormat::Json => say(&serde_json::to_string_pretty(&reply)?)?,
                OutputFormat::Table => {
                    say(&memory_table(&reply.memories))?;
                    say(&format!("{} of {}", reply.memories.len(), counted(reply.total, "memory", "memories")))?;
                }
            }
        }
        MemoriesCommand::Show { memory_id } => {
            let request = GetMemoryRequest { principal, owner: owner.to_owned(), memory_id };
            let reply: MemoryReply =
                caller.send(GUARDIAN, message_types::GET_MEMORY, &request, &options).await?.payload_as()?;
            match output {
                OutputFormat::Json => say(&serde_json::to_string_pretty(&reply.memory)?)?,
                OutputFormat::Table => say(&memory_text(&reply.memory))?,
            }
        }
        MemoriesCommand::Count => {
            let request = CountMemoriesRequest { principal, owner: owner.to_owned() };
            let reply: MemoryCount =
                caller.send(GUARDIAN, message_types::COUNT_MEMORIES, &request, &options).await?.payload_as()?;
            match output {
                OutputFormat::Json => say(&serde_json::to_string(&reply)?)?,
                OutputFormat::Table => say(&reply.count.to_string())?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn memory_table(memories: &[MemoryView]) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header(["occurred", "id", "kind", "sensitivity", "text"]);
    for view in memories {
        let memory = &view.memory;
        let text = super::one_line(&memory.text, 60);
        table.add_row([
            memory.occurred_at.clone().unwrap_or_default(),
            memory.id.clone(),
            memory.source_kind.as_str().to_owned(),
            format!("{:?}", view.sensitivity).to_lowercase(),
            text,
        ]);
    }
    table.to_string()
}

fn memory_text(view: &MemoryView) -> String {
    let memory = &view.memory;
    let mut lines = vec![
        format!("id:           {}", memory.id),
        format!("occurred at:  {}", memory.occurred_at.as_deref().unwrap_or("unknown")),
        format!("source:       {} {}", memory.source_kind.as_str(), memory.source.as_deref().unwrap_or("")),
        format!(
            "sensitivity:  {}{}",
            format!("{:?}", view.sensitivity).to_lowercase(),
            if view.redacted { " (redacted for you)" } else { "" }
        ),
    ];
    if let Some(author) = &memory.author {
        lines.push(format!("author:       {author}"));
    }
    if !memory.participants.is_empty() {
        lines.push(format!("participants: {}", memory.participants.join(", ")));
    }
    if let Some(title) = &memory.title {
        lines.push(format!("title:        {title}"));
    }
    if !memory.tags.is_empty() {
        lines.push(format!("tags:         {}", memory.tags.join(", ")));
    }
    lines.push(String::new());
    lines.push(memory.text.clone());
    lines.join("\n")
}

pub async fn forget(
    settings: &Settings,
    owner: &str,
    memory_id: Option<String>,
    yes: bool,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    if memory_id.is_none() && !yes {
        bail!("forgetting everything of {owner} cannot be undone; add --yes to do it");
    }
    let orchestrator = super::connect(settings).await?;
    let request = ForgetRequest { principal: owner.to_owned(), owner: owner.to_owned(), memory_id };
    let options = CallOptions { timeout: Some(Duration::from_secs(120)), ..CallOptions::default() };
    let reply: Forgotten =
        orchestrator.send(GUARDIAN, message_types::FORGET, &request, &options).await?.payload_as()?;
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&reply)?)?,
        OutputFormat::Table => say(&match &reply.memory_id {
            Some(id) if reply.memories_deleted == 0 => {
                format!("{} has no memory {id} (forgotten before, or never kept): nothing to forget", reply.owner)
            }
            Some(id) => format!("forgot memory {id} of {}", reply.owner),
            None => format!(
                "forgot {}: {} deleted{}",
                reply.owner,
                counted(reply.memories_deleted, "memory", "memories"),
                if reply.key_destroyed { ", data key destroyed" } else { "" }
            ),
        })?,
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn rewrap_keys(settings: &Settings, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let orchestrator = super::connect(settings).await?;
    let options = CallOptions { timeout: Some(Duration::from_secs(600)), ..CallOptions::default() };
    let reply: KeysRewrapped = orchestrator
        .send(GUARDIAN, message_types::REWRAP_KEYS, &serde_json::json!({}), &options)
        .await?
        .payload_as()?;
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&reply)?)?,
        OutputFormat::Table => say(&format!(
            "data keys: {} wrapped anew, {} already under the current master key, {} under neither",
            reply.rewrapped, reply.current, reply.unreadable
        ))?,
    }
    // Keys under neither master key mean the rotation cannot finish: say so in the exit code.
    Ok(if reply.unreadable == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The last `limit` audit records (of `owner` only, when given), oldest first.
pub async fn audit(
    settings: &Settings,
    owner: Option<&str>,
    limit: usize,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let client = super::connect_client(settings).await?;
    let jetstream = jetstream::new(client);
    let mut stream = jetstream
        .get_stream(AUDIT_STREAM)
        .await
        .context("no audit stream yet: the privacy guardian creates it when it first starts with a master key")?;
    let info = stream.info().await.context("cannot read the audit stream")?.clone();
    let last = info.state.last_sequence;
    let mut records: Vec<AuditRecord> = Vec::new();
    if info.state.messages > 0 {
        // Read backwards in windows until `limit` records of the owner are found or the stream is exhausted.
        let mut end = last;
        while end >= info.state.first_sequence && records.len() < limit {
            let window = (limit as u64 * 4).max(256);
            let start = end.saturating_sub(window - 1).max(info.state.first_sequence);
            let consumer = stream
                .create_consumer(consumer::pull::OrderedConfig {
                    deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: start },
                    ..Default::default()
                })
                .await
                .context("cannot read the audit stream")?;
            let mut messages = consumer.messages().await.context("cannot read the audit stream")?;
            let mut found = Vec::new();
            while let Some(message) = messages.next().await {
                let message = message.context("cannot read the audit stream")?;
                let sequence = message.info().map(|info| info.stream_sequence).unwrap_or(end);
                if let Ok(record) = rmp_serde::from_slice::<AuditRecord>(&message.payload)
                    && owner.is_none_or(|owner| record.owner == owner)
                {
                    found.push(record);
                }
                if sequence >= end {
                    break;
                }
            }
            found.extend(records);
            records = found;
            if start == info.state.first_sequence {
                break;
            }
            end = start - 1;
        }
    }
    let skip = records.len().saturating_sub(limit);
    let records = &records[skip..];
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(records)?)?,
        OutputFormat::Table => {
            let mut table = Table::new();
            table.load_style(UTF8_BORDERS_ONLY).set_header([
                "at",
                "principal",
                "owner",
                "action",
                "memory",
                "decision",
                "reason",
            ]);
            for record in records {
                table.add_row([
                    record.at.clone(),
                    record.principal.clone(),
                    record.owner.clone(),
                    record.action.clone(),
                    record.memory_id.clone().unwrap_or_default(),
                    if record.allowed { "allowed".to_owned() } else { "denied".to_owned() },
                    record.reason.clone(),
                ]);
            }
            say(&table.to_string())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
