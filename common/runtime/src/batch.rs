//! The seed's `BatchProcessingAgent` for callers: items submitted one at a time by concurrent requests are
//! gathered into batches, sent when a batch is full (by count or by size) or when its first item has waited
//! `max_wait`, with at most `max_in_flight` batches out at once; each submitter gets its own item's result.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::agent::HandlerError;

/// How a batcher gathers.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_items: usize,
    /// The most a batch may weigh (bytes, for texts); an item heavier than this goes alone.
    pub max_weight: usize,
    pub max_wait: Duration,
    pub max_in_flight: usize,
}

type Waiter<O> = oneshot::Sender<Result<O, HandlerError>>;

/// Gathers items of type `I` into batches for a flush that answers each with an `O`.
pub struct Batcher<I, O> {
    submit: mpsc::Sender<(I, Waiter<O>)>,
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Starts gathering; `flush` gets each batch and must answer with one result per item, in order.
    pub fn start<F, Fut>(limits: BatchLimits, weigh: fn(&I) -> usize, flush: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<O>, HandlerError>> + Send + 'static,
    {
        let (submit, submitted) = mpsc::channel(limits.max_items.max(1) * 4);
        tokio::spawn(gather(submitted, limits, weigh, Arc::new(flush)));
        Batcher { submit }
    }

    /// Submits `item` and waits for its result.
    pub async fn submit(&self, item: I) -> Result<O, HandlerError> {
        let (waiter, result) = oneshot::channel();
        self.submit.send((item, waiter)).await.map_err(|_| HandlerError::internal("the batcher has stopped"))?;
        result.await.map_err(|_| HandlerError::internal("a batch was abandoned"))?
    }
}

async fn gather<I, O, F, Fut>(
    mut submitted: mpsc::Receiver<(I, Waiter<O>)>,
    limits: BatchLimits,
    weigh: fn(&I) -> usize,
    flush: Arc<F>,
) where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<O>, HandlerError>> + Send + 'static,
{
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
    // An item that did not fit the batch before starts the next.
    let mut held: Option<(I, Waiter<O>)> = None;
    loop {
        let first = match held.take() {
            Some(first) => first,
            None => match submitted.recv().await {
                Some(first) => first,
                None => return,
            },
        };
        let mut weight = weigh(&first.0);
        let mut batch = vec![first];
        let deadline = tokio::time::sleep(limits.max_wait);
        tokio::pin!(deadline);
        while batch.len() < limits.max_items && weight < limits.max_weight {
            tokio::select! {
                next = submitted.recv() => match next {
                    Some(next) => {
                        let next_weight = weigh(&next.0);
                        if weight + next_weight > limits.max_weight {
                            held = Some(next);
                            break;
                        }
                        weight += next_weight;
                        batch.push(next);
                    }
                    None => break,
                },
                () = &mut deadline => break,
            }
        }
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else { return };
        let flush = Arc::clone(&flush);
        tokio::spawn(async move {
            let (items, waiters): (Vec<I>, Vec<Waiter<O>>) = batch.into_iter().unzip();
            let expected = items.len();
            match flush(items).await {
                Ok(results) if results.len() == expected => {
                    for (waiter, result) in waiters.into_iter().zip(results) {
                        let _ = waiter.send(Ok(result));
                    }
                }
                Ok(results) => {
                    let error = HandlerError::internal(format!("a batch of {expected} got {} results", results.len()));
                    for waiter in waiters {
                        let _ = waiter.send(Err(error.clone()));
                    }
                }
                Err(error) => {
                    for waiter in waiters {
                        let _ = waiter.send(Err(error.clone()));
                    }
                }
            }
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn limits(max_items: usize, max_weight: usize, max_wait_ms: u64) -> BatchLimits {
        BatchLimits { max_items, max_weight, max_wait: Duration::from_millis(max_wait_ms), max_in_flight: 2 }
    }

    #[tokio::test]
    async fn concurrent_items_go_in_batches_and_each_gets_its_own_result() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&sizes);
        let batcher = Arc::new(Batcher::start(
            limits(4, usize::MAX, 50),
            |_: &u32| 1,
            move |items: Vec<u32>| {
                seen.lock().unwrap().push(items.len());
                async move { Ok(items.into_iter().map(|item| item * 10).collect()) }
            },
        ));
        let results = futures::future::join_all((0..10).map(|item| {
            let batcher = Arc::clone(&batcher);
            async move { batcher.submit(item).await.unwrap() }
        }))
        .await;
        assert_eq!(results, (0..10).map(|item| item * 10).collect::<Vec<_>>());
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 10);
        assert!(sizes.iter().all(|size| *size <= 4) && sizes.len() <= 4, "{sizes:?}");
    }

    #[tokio::test]
    async fn a_lone_item_waits_at_most_max_wait_and_weight_splits_batches() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&sizes);
        let batcher = Arc::new(Batcher::start(
            limits(100, 10, 20),
            |item: &String| item.len(),
            move |items: Vec<String>| {
                seen.lock().unwrap().push(items.len());
                async move { Ok(items.into_iter().map(|item| item.len()).collect()) }
            },
        ));
        assert_eq!(batcher.submit("alone".to_owned()).await.unwrap(), 5);
        let results = futures::future::join_all(["aaaaaa", "bbbbbb", "cc"].map(|item| {
            let batcher = Arc::clone(&batcher);
            async move { batcher.submit(item.to_owned()).await.unwrap() }
        }))
        .await;
        assert_eq!(results, [6, 6, 2]);
        assert_eq!(sizes.lock().unwrap().clone(), [1, 1, 2], "six and six weigh more than ten");
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_items() {
        let batcher = Batcher::start(
            limits(8, usize::MAX, 5),
            |_: &u8| 1,
            |_: Vec<u8>| async { Err::<Vec<u8>, _>(HandlerError::unavailable("the analyzer is down")) },
        );
        let error = batcher.submit(1).await.unwrap_err();
        assert!(error.message.contains("analyzer is down"));
    }
}
