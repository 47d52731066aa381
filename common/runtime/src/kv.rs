//! JetStream key-value helpers every agent with per-owner state needs: opening a bucket, reading every key
//! under a prefix without touching other owners' keys, purging a prefix, and compare-and-set updates.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv};
use futures::StreamExt;

#[derive(Debug, thiserror::Error)]
#[error("key-value bucket `{bucket}`: {reason}")]
pub struct KvError {
    pub bucket: String,
    pub reason: String,
}

fn failed(bucket: &str, error: impl std::fmt::Display) -> KvError {
    KvError { bucket: bucket.to_owned(), reason: error.to_string() }
}

/// Opens `name`, creating it (file storage, one revision kept) on first use; another replica creating it at
/// the same moment is fine.
pub async fn bucket(
    jetstream: &jetstream::Context,
    name: &str,
    description: &str,
    replicas: usize,
) -> Result<kv::Store, KvError> {
    if let Ok(store) = jetstream.get_key_value(name).await {
        return Ok(store);
    }
    let config = kv::Config {
        bucket: name.to_owned(),
        description: description.to_owned(),
        history: 1,
        num_replicas: replicas,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    };
    match jetstream.create_key_value(config).await {
        Ok(store) => Ok(store),
        Err(_) => jetstream.get_key_value(name).await.map_err(|error| failed(name, error)),
    }
}

fn stream_name(bucket: &str) -> String {
    format!("KV_{bucket}")
}

/// The latest value of every live key under `prefix.` in `bucket`, with the key after the prefix, read
/// through an ordered consumer on the bucket's stream so that no other key is touched.
pub async fn scan(
    jetstream: &jetstream::Context,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<(String, Vec<u8>)>, KvError> {
    let (current, changes) = follow(jetstream, bucket, prefix).await?;
    let mut found = Vec::with_capacity(current);
    let mut changes = changes.take(current);
    while let Some(change) = changes.next().await {
        if let (key, Some(value)) = change? {
            found.push((key, value));
        }
    }
    Ok(found)
}

/// A key's change as [`follow`] sees it: its new value, or `None` when it was deleted.
pub type KeyChange = (String, Option<Vec<u8>>);

/// The latest value of every live key under `prefix.` in `bucket`, then every change to such a key from then
/// on, through one ordered consumer: nothing written in between is missed. Returns how many changes make up
/// the current state (they come first) and the changes; the stream ends only when the connection does.
pub async fn follow(
    jetstream: &jetstream::Context,
    bucket: &str,
    prefix: &str,
) -> Result<(usize, futures::stream::BoxStream<'static, Result<KeyChange, KvError>>), KvError> {
    let stream = jetstream.get_stream(stream_name(bucket)).await.map_err(|error| failed(bucket, error))?;
    let subject_prefix = format!("$KV.{bucket}.{prefix}.");
    let mut consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: format!("{subject_prefix}>"),
            deliver_policy: consumer::DeliverPolicy::LastPerSubject,
            ..Default::default()
        })
        .await
        .map_err(|error| failed(bucket, error))?;
    let current = consumer.info().await.map_err(|error| failed(bucket, error))?.num_pending as usize;
    let messages = consumer.messages().await.map_err(|error| failed(bucket, error))?;
    let bucket = bucket.to_owned();
    let changes = messages.map(move |message| {
        let message = message.map_err(|error| failed(&bucket, error))?;
        let key = message.subject.as_str().strip_prefix(&subject_prefix).unwrap_or_default().to_owned();
        Ok(if is_deletion(message.headers.as_ref()) { (key, None) } else { (key, Some(message.payload.to_vec())) })
    });
    Ok((current, changes.boxed()))
}

fn is_deletion(headers: Option<&async_nats::HeaderMap>) -> bool {
    headers
        .and_then(|headers| headers.get("KV-Operation"))
        .is_some_and(|operation| matches!(operation.as_str(), "DEL" | "PURGE"))
}

/// Removes every key under `prefix.` (or the key `prefix` itself with `exact`) from the bucket's stream,
/// markers included: nothing of them stays.
pub async fn purge(jetstream: &jetstream::Context, bucket: &str, prefix: &str, exact: bool) -> Result<(), KvError> {
    let stream = jetstream.get_stream(stream_name(bucket)).await.map_err(|error| failed(bucket, error))?;
    let filter = if exact { format!("$KV.{bucket}.{prefix}") } else { format!("$KV.{bucket}.{prefix}.>") };
    stream.purge().filter(filter).await.map(|_| ()).map_err(|error| failed(bucket, error))
}

/// How often a compare-and-set update is tried before giving up.
const MAX_ATTEMPTS: u32 = 200;

/// Reads `key`, lets `change` make the new value from the current one (`None` when absent), and writes it only
/// if nobody wrote in between, trying again when someone did: concurrent replicas never lose an update.
/// `change` returning `None` leaves the key as it is. Returns what was written, if anything.
pub async fn update<F, Fut>(store: &kv::Store, key: &str, mut change: F) -> Result<Option<Vec<u8>>, KvError>
where
    F: FnMut(Option<Vec<u8>>) -> Fut,
    Fut: Future<Output = Result<Option<Vec<u8>>, KvError>>,
{
    let bucket = store.name.clone();
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            // Writers that collided spread out, so that one of them wins the next round.
            let ceiling = 1u64 << attempt.min(7);
            tokio::time::sleep(Duration::from_micros(rand::random_range(0..ceiling * 500))).await;
        }
        let entry = store.entry(key).await.map_err(|error| failed(&bucket, error))?;
        let current = entry.as_ref().filter(|entry| entry.operation == kv::Operation::Put);
        let revision = entry.as_ref().map(|entry| entry.revision);
        let Some(next) = change(current.map(|entry| entry.value.to_vec())).await? else { return Ok(None) };
        // A deleted key's marker has a revision of its own to compare against; only a key never written is created.
        let written = match revision {
            Some(revision) => store.update(key, next.clone().into(), revision).await.is_ok(),
            None => store.create(key, next.clone().into()).await.is_ok(),
        };
        if written {
            return Ok(Some(next));
        }
    }
    Err(failed(&bucket, format!("`{key}` kept changing under {MAX_ATTEMPTS} attempts")))
}
