//! An instance's counters: the seed's `performance_metrics`, kept per message type as well.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mneme_protocol::stats::MessageTypeStats;

#[derive(Debug, Default)]
pub struct Metrics {
    totals: Mutex<Totals>,
    /// Taken off the wire and not yet answered.
    queued: AtomicU64,
    shed: AtomicU64,
    events: AtomicU64,
}

#[derive(Debug, Default, Clone)]
struct Totals {
    overall: MessageTypeStats,
    last_activity: Option<f64>,
    by_message_type: BTreeMap<String, MessageTypeStats>,
}

/// What [`Metrics::snapshot`] reads at one instant.
#[derive(Debug, Clone)]
pub struct MetricsSnapshot {
    pub overall: MessageTypeStats,
    pub last_activity: Option<f64>,
    pub by_message_type: BTreeMap<String, MessageTypeStats>,
    pub queued: u64,
    pub shed: u64,
    pub events: u64,
}

fn record_into(stats: &mut MessageTypeStats, elapsed: f64, failed: bool) {
    stats.processed += 1;
    if failed {
        stats.errors += 1;
    }
    // Running mean, so that no history is kept.
    stats.avg_processing_time += (elapsed - stats.avg_processing_time) / stats.processed as f64;
}

impl Metrics {
    /// Counts a request of `message_type` answered at `finished_at` (seconds since the Unix epoch).
    pub fn record(&self, message_type: &str, elapsed: Duration, failed: bool, finished_at: f64) {
        let elapsed = elapsed.as_secs_f64();
        let mut totals = self.totals.lock().expect("metrics lock is never poisoned");
        record_into(&mut totals.overall, elapsed, failed);
        totals.last_activity = Some(finished_at);
        match totals.by_message_type.get_mut(message_type) {
            Some(stats) => record_into(stats, elapsed, failed),
            None => {
                let mut stats = MessageTypeStats::default();
                record_into(&mut stats, elapsed, failed);
                totals.by_message_type.insert(message_type.to_owned(), stats);
            }
        }
    }

    pub fn enqueued(&self) -> u64 {
        self.queued.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn dequeued(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    pub fn shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn event_received(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let totals = self.totals.lock().expect("metrics lock is never poisoned").clone();
        MetricsSnapshot {
            overall: totals.overall,
            last_activity: totals.last_activity,
            by_message_type: totals.by_message_type,
            queued: self.queued(),
            shed: self.shed.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_and_counts_add_up_per_type_and_overall() {
        let metrics = Metrics::default();
        metrics.record("a", Duration::from_millis(10), false, 1.0);
        metrics.record("a", Duration::from_millis(30), true, 2.0);
        metrics.record("b", Duration::from_millis(20), false, 3.0);
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.overall.processed, 3);
        assert_eq!(snapshot.overall.errors, 1);
        assert!((snapshot.overall.avg_processing_time - 0.020).abs() < 1e-9);
        assert_eq!(snapshot.by_message_type["a"].processed, 2);
        assert!((snapshot.by_message_type["a"].avg_processing_time - 0.020).abs() < 1e-9);
        assert_eq!(snapshot.last_activity, Some(3.0));
    }
}
