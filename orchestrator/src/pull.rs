//! Working a JetStream pull consumer: batches of messages handled concurrently until stopped, pulling again
//! after an error, as the ingest pipeline and the pipeline runs both do.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

/// Pulls from `consumer` in batches of `concurrency` and hands each message to `handle`, at most
/// `concurrency` at once, until `stop` is cancelled. `what` names the work in logs.
pub async fn work<F, Fut>(
    consumer: &consumer::Consumer<consumer::pull::Config>,
    concurrency: usize,
    stop: &CancellationToken,
    what: &str,
    handle: F,
) where
    F: Fn(jetstream::Message) -> Fut,
    Fut: Future<Output = ()>,
{
    while !stop.is_cancelled() {
        // Small batches: a message held by a busy instance is a message another instance cannot take.
        let messages =
            consumer.stream().max_messages_per_batch(concurrency).heartbeat(Duration::from_secs(5)).messages().await;
        let messages = match messages {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%error, what, "Cannot pull; retrying.");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    () = stop.cancelled() => break,
                }
            }
        };
        messages
            .take_until(stop.cancelled())
            .for_each_concurrent(concurrency, |message| async {
                match message {
                    Ok(message) => handle(message).await,
                    Err(error) => tracing::warn!(%error, what, "Pulling failed."),
                }
            })
            .await;
    }
}
