//! `mneme dlq list|replay`: the inputs that could not become memories, and sending them through again once
//! their cause is fixed.

use std::process::ExitCode;

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use futures::StreamExt;

use mneme_protocol::ingest::DeadLetter;
use mneme_protocol::subjects::{headers, jetstream::DEAD_LETTER_STREAM};

use super::{OutputFormat, say};
use crate::settings::Settings;

/// A dead letter with its bytes, for replay.
struct Letter {
    summary: DeadLetter,
    headers: HeaderMap,
    payload: bytes::Bytes,
}

async fn letters(jetstream: &jetstream::Context, limit: usize) -> anyhow::Result<Vec<Letter>> {
    let stream = jetstream
        .get_stream(DEAD_LETTER_STREAM)
        .await
        .context("no dead-letter stream yet: the orchestrator creates it when it first works the ingest stream")?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig::default())
        .await
        .context("cannot read the dead-letter stream")?;
    let mut consumer = consumer;
    let pending = consumer.info().await.context("cannot read the dead-letter stream")?.num_pending as usize;
    let mut found = Vec::new();
    if pending == 0 {
        return Ok(found);
    }
    let mut messages = consumer.messages().await.context("cannot read the dead-letter stream")?;
    while found.len() < pending.min(limit) {
        let Some(message) = messages.next().await else { break };
        let message = message.context("cannot read the dead-letter stream")?;
        let info = message.info().ok();
        let header =
            |name: &str| message.headers.as_ref().and_then(|map| map.get(name)).map(|value| value.as_str().to_owned());
        found.push(Letter {
            summary: DeadLetter {
                sequence: info.as_ref().map_or(0, |info| info.stream_sequence),
                reason: header(headers::DEAD_REASON).unwrap_or_default(),
                subject: header(headers::DEAD_SUBJECT).unwrap_or_default(),
                deliveries: header(headers::DEAD_DELIVERIES).and_then(|text| text.parse().ok()).unwrap_or(0),
                at: info.as_ref().map(|info| info.published.to_string()).unwrap_or_default(),
                size: message.payload.len(),
            },
            headers: message.headers.clone().unwrap_or_default(),
            payload: message.payload.clone(),
        });
    }
    Ok(found)
}

pub async fn list(settings: &Settings, limit: usize, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let jetstream = jetstream::new(super::connect_client(settings).await?);
    let found: Vec<DeadLetter> = letters(&jetstream, limit).await?.into_iter().map(|letter| letter.summary).collect();
    match output {
        OutputFormat::Json => say(&serde_json::to_string_pretty(&found)?)?,
        OutputFormat::Table => {
            let mut table = Table::new();
            table.load_style(UTF8_BORDERS_ONLY).set_header([
                "seq",
                "died at",
                "subject",
                "deliveries",
                "bytes",
                "reason",
            ]);
            for letter in &found {
                table.add_row([
                    letter.sequence.to_string(),
                    letter.at.clone(),
                    letter.subject.clone(),
                    letter.deliveries.to_string(),
                    letter.size.to_string(),
                    letter.reason.clone(),
                ]);
            }
            say(&table.to_string())?;
            say(&format!("{} dead letter(s)", found.len()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Publishes the chosen dead letters (all when `sequences` is empty) to the subjects they came on, with their
/// original headers, then removes them from the dead-letter stream.
pub async fn replay(settings: &Settings, sequences: &[u64], output: OutputFormat) -> anyhow::Result<ExitCode> {
    let jetstream = jetstream::new(super::connect_client(settings).await?);
    let chosen: Vec<Letter> = letters(&jetstream, usize::MAX)
        .await?
        .into_iter()
        .filter(|letter| sequences.is_empty() || sequences.contains(&letter.summary.sequence))
        .collect();
    let stream = jetstream.get_stream(DEAD_LETTER_STREAM).await.context("no dead-letter stream")?;
    let mut replayed = Vec::new();
    for letter in chosen {
        if letter.summary.subject.is_empty() {
            eprintln!("mneme: dead letter {} has no original subject; left in place", letter.summary.sequence);
            continue;
        }
        let mut original = HeaderMap::new();
        for (name, values) in letter.headers.iter() {
            let name: &str = name.as_ref();
            if name.starts_with("Mneme-Dead-") || name == headers::MSG_ID {
                continue;
            }
            for value in values {
                original.append(name, value.as_str());
            }
        }
        // A fresh id: the original's may still be in the duplicate window, which would swallow the replay.
        original.insert(headers::MSG_ID, format!("replay-{}", uuid::Uuid::now_v7()).as_str());
        jetstream
            .publish_with_headers(letter.summary.subject.clone(), original, letter.payload.clone())
            .await
            .context("cannot publish a replay")?
            .await
            .context("the ingest stream did not take a replay")?;
        stream.delete_message(letter.summary.sequence).await.context("cannot remove a replayed dead letter")?;
        replayed.push(letter.summary.sequence);
    }
    match output {
        OutputFormat::Json => say(&serde_json::to_string(&serde_json::json!({"replayed": replayed}))?)?,
        OutputFormat::Table => say(&format!("replayed {} dead letter(s)", replayed.len()))?,
    }
    Ok(ExitCode::SUCCESS)
}
