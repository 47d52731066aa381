//! The seed's `ResourcePoolingAgent` processing pool: CPU-heavy work (a long text's personal information, a
//! large batch's sentiment) runs on a bounded set of blocking threads, so that the async workers stay free to
//! take requests in and answer `get_stats` and `ping` while it runs.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::agent::HandlerError;

/// Work smaller than this many bytes of input runs where it is: the hop to a blocking thread costs more.
pub const INLINE_BELOW_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct CpuPool {
    /// None: everything runs inline (`service.cpu_workers = 0`).
    permits: Option<Arc<Semaphore>>,
}

impl Default for CpuPool {
    /// One worker per core.
    fn default() -> Self {
        CpuPool::new(default_workers())
    }
}

/// One per core the process may use.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map(std::num::NonZeroUsize::get).unwrap_or(2)
}

impl CpuPool {
    /// A pool of `workers` threads at most; 0 runs all work inline.
    pub fn new(workers: usize) -> Self {
        CpuPool { permits: (workers > 0).then(|| Arc::new(Semaphore::new(workers))) }
    }

    /// Runs `work` over an input of `size` bytes: inline when small or when the pool is off, otherwise on a
    /// blocking thread once one of the pool's places is free. A panic in it is an internal error.
    pub async fn run<T, F>(&self, size: usize, work: F) -> Result<T, HandlerError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let Some(permits) = self.permits.as_ref().filter(|_| size >= INLINE_BELOW_BYTES) else { return Ok(work()) };
        let permit = Arc::clone(permits)
            .acquire_owned()
            .await
            .map_err(|_| HandlerError::internal("the processing pool is closed"))?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|error| HandlerError::internal(format!("work in the processing pool failed: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_its_workers_run_at_once() {
        let pool = CpuPool::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks = (0..6).map(|_| {
            let (pool, running, most) = (pool.clone(), Arc::clone(&running), Arc::clone(&most));
            async move {
                pool.run(INLINE_BELOW_BYTES, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }
        });
        for outcome in futures::future::join_all(tasks).await {
            outcome.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn small_work_and_a_disabled_pool_run_inline_and_a_panic_is_an_error() {
        let here = std::thread::current().id();
        assert_eq!(CpuPool::new(2).run(10, move || std::thread::current().id()).await.unwrap(), here);
        assert_eq!(CpuPool::new(0).run(1 << 20, move || std::thread::current().id()).await.unwrap(), here);
        let error = CpuPool::new(1).run(1 << 20, || -> () { panic!("boom") }).await.unwrap_err();
        assert_eq!(error.code, mneme_protocol::ErrorCode::Internal);
    }
}
