//! An instance's counters: the seed's `performance_metrics`, kept per message type as well, and the same in
//! Prometheus's terms for the HTTP port's `/metrics` (a latency histogram per message type; counters and gauges
//! read from the counters when scraped).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::{Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use mneme_protocol::stats::MessageTypeStats;

#[derive(Debug, Default)]
pub struct Metrics {
    totals: Mutex<Totals>,
    /// Taken off the wire and not yet answered.
    queued: AtomicU64,
    shed: AtomicU64,
    events: AtomicU64,
    prometheus: Option<Prometheus>,
}

#[derive(Debug, Default)]
struct Totals {
    overall: MessageTypeStats,
    last_activity: Option<f64>,
    by_message_type: BTreeMap<String, TypeTotals>,
}

#[derive(Debug, Default)]
struct TypeTotals {
    stats: MessageTypeStats,
    /// Handling times, when Prometheus metrics are kept.
    durations: Option<metrics::Histogram>,
}

/// The recorder behind `/metrics`, of this instance only (never the process-wide one).
pub struct Prometheus {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Prometheus").finish_non_exhaustive()
    }
}

/// Upper bounds, in seconds, of the latency histogram's buckets.
const DURATION_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static METADATA: Metadata<'static> = Metadata::new("mneme", Level::INFO, None);

/// What the instance's gate holds when it is scraped.
#[derive(Debug, Clone, Copy)]
pub struct Occupancy {
    pub in_flight: u64,
    pub concurrency_limit: u64,
}

impl Prometheus {
    fn new(agent_type: &str) -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&DURATION_BUCKETS)
            .expect("the buckets are not empty")
            .add_global_label("agent_type", agent_type)
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::describe_counter!("mneme_requests_total", "Requests answered, by message type.");
            metrics::describe_counter!("mneme_request_errors_total", "Requests answered with an error_response.");
            metrics::describe_counter!(
                "mneme_request_failures_total",
                "Requests answered with a 5xx error_response: failed by the instance, not refused."
            );
            metrics::describe_histogram!(
                "mneme_request_duration_seconds",
                metrics::Unit::Seconds,
                "Time from taking a request in to answering it."
            );
            metrics::describe_gauge!("mneme_requests_in_flight", "Requests being handled now.");
            metrics::describe_gauge!("mneme_requests_queued", "Requests taken in and not yet answered.");
            metrics::describe_gauge!("mneme_concurrency_limit", "Requests handled at once at most.");
            metrics::describe_counter!("mneme_requests_shed_total", "Requests turned away because the line was full.");
            metrics::describe_counter!("mneme_events_received_total", "Events received.");
        });
        Prometheus { recorder, handle }
    }

    fn histogram(&self, message_type: &str) -> metrics::Histogram {
        let labels = vec![Label::new("message_type", message_type.to_owned())];
        self.recorder.register_histogram(&Key::from_parts("mneme_request_duration_seconds", labels), &METADATA)
    }

    fn counter(&self, name: &'static str, message_type: Option<&str>) -> metrics::Counter {
        let labels: Vec<Label> =
            message_type.map(|kind| Label::new("message_type", kind.to_owned())).into_iter().collect();
        self.recorder.register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    fn gauge(&self, name: &'static str) -> metrics::Gauge {
        self.recorder.register_gauge(&Key::from_name(name), &METADATA)
    }
}

/// What [`Metrics::summary`] reads at one instant.
#[derive(Debug, Clone)]
pub struct MetricsSummary {
    pub overall: MessageTypeStats,
    pub last_activity: Option<f64>,
    pub queued: u64,
    pub shed: u64,
    pub events: u64,
}

/// How a request was answered, as the counters tell it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Answered,
    /// An `error_response` for what the client sent (4xx): bad input, a refusal, nothing there.
    Refused,
    /// An `error_response` for what the instance, or what it depends on, could not do (5xx).
    Failed,
}

impl Outcome {
    pub fn of<T>(result: &Result<T, crate::agent::HandlerError>) -> Self {
        match result {
            Ok(_) => Outcome::Answered,
            Err(error) if error.code.recoverable() => Outcome::Failed,
            Err(_) => Outcome::Refused,
        }
    }
}

fn record_into(stats: &mut MessageTypeStats, elapsed: f64, outcome: Outcome) {
    stats.processed += 1;
    match outcome {
        Outcome::Answered => {}
        Outcome::Refused => stats.errors += 1,
        Outcome::Failed => {
            stats.errors += 1;
            stats.failures += 1;
        }
    }
    // Running mean, so that no history is kept.
    stats.avg_processing_time += (elapsed - stats.avg_processing_time) / stats.processed as f64;
}

impl Metrics {
    /// Counters that also keep Prometheus metrics, labelled with `agent_type`.
    pub fn with_prometheus(agent_type: &str) -> Self {
        Metrics { prometheus: Some(Prometheus::new(agent_type)), ..Metrics::default() }
    }

    /// Counts a request of `message_type` answered at `finished_at` (seconds since the Unix epoch).
    pub fn record(&self, message_type: &str, elapsed: Duration, outcome: Outcome, finished_at: f64) {
        let elapsed = elapsed.as_secs_f64();
        let mut totals = self.totals.lock().expect("metrics lock is never poisoned");
        record_into(&mut totals.overall, elapsed, outcome);
        totals.last_activity = Some(finished_at);
        let by_type = match totals.by_message_type.get_mut(message_type) {
            Some(by_type) => by_type,
            None => {
                let durations = self.prometheus.as_ref().map(|prometheus| prometheus.histogram(message_type));
                let fresh = TypeTotals { stats: MessageTypeStats::default(), durations };
                totals.by_message_type.entry(message_type.to_owned()).or_insert(fresh)
            }
        };
        record_into(&mut by_type.stats, elapsed, outcome);
        if let Some(durations) = &by_type.durations {
            durations.record(elapsed);
        }
    }

    /// Prometheus's text of every metric, counters brought up to date first; empty without Prometheus.
    pub fn render_prometheus(&self, occupancy: Occupancy) -> String {
        let Some(prometheus) = &self.prometheus else { return String::new() };
        let summary = self.summary();
        for (message_type, stats) in &self.by_message_type() {
            prometheus.counter("mneme_requests_total", Some(message_type)).absolute(stats.processed);
            prometheus.counter("mneme_request_errors_total", Some(message_type)).absolute(stats.errors);
            prometheus.counter("mneme_request_failures_total", Some(message_type)).absolute(stats.failures);
        }
        prometheus.counter("mneme_requests_shed_total", None).absolute(summary.shed);
        prometheus.counter("mneme_events_received_total", None).absolute(summary.events);
        prometheus.gauge("mneme_requests_in_flight").set(occupancy.in_flight as f64);
        prometheus.gauge("mneme_requests_queued").set(summary.queued as f64);
        prometheus.gauge("mneme_concurrency_limit").set(occupancy.concurrency_limit as f64);
        prometheus.handle.render()
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

    pub fn summary(&self) -> MetricsSummary {
        let (overall, last_activity) = {
            let totals = self.totals.lock().expect("metrics lock is never poisoned");
            (totals.overall.clone(), totals.last_activity)
        };
        MetricsSummary {
            overall,
            last_activity,
            queued: self.queued(),
            shed: self.shed.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
        }
    }

    /// The counters of each message type answered so far.
    pub fn by_message_type(&self) -> BTreeMap<String, MessageTypeStats> {
        let totals = self.totals.lock().expect("metrics lock is never poisoned");
        totals.by_message_type.iter().map(|(name, by_type)| (name.clone(), by_type.stats.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_and_counts_add_up_per_type_and_overall() {
        let metrics = Metrics::default();
        metrics.record("a", Duration::from_millis(10), Outcome::Answered, 1.0);
        metrics.record("a", Duration::from_millis(30), Outcome::Failed, 2.0);
        metrics.record("b", Duration::from_millis(20), Outcome::Refused, 3.0);
        let summary = metrics.summary();
        assert_eq!(summary.overall.processed, 3);
        assert_eq!((summary.overall.errors, summary.overall.failures), (2, 1), "a refusal is no failure");
        assert!((summary.overall.avg_processing_time - 0.020).abs() < 1e-9);
        assert_eq!(summary.last_activity, Some(3.0));
        let by_message_type = metrics.by_message_type();
        assert_eq!(by_message_type["a"].processed, 2);
        assert!((by_message_type["a"].avg_processing_time - 0.020).abs() < 1e-9);
    }

    #[test]
    fn prometheus_text_has_counters_histograms_and_gauges_by_message_type() {
        let metrics = Metrics::with_prometheus("memory_harvester");
        metrics.record("process_memory", Duration::from_millis(3), Outcome::Answered, 1.0);
        metrics.record("process_memory", Duration::from_millis(30), Outcome::Refused, 2.0);
        let text = metrics.render_prometheus(Occupancy { in_flight: 2, concurrency_limit: 64 });
        assert!(text.contains("# TYPE mneme_requests_total counter"), "{text}");
        assert!(
            text.contains(r#"mneme_requests_total{agent_type="memory_harvester",message_type="process_memory"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"mneme_request_errors_total{agent_type="memory_harvester",message_type="process_memory"} 1"#
            )
        );
        assert!(text.contains(r#"mneme_request_duration_seconds_bucket{agent_type="memory_harvester",message_type="process_memory",le="0.005"} 1"#), "{text}");
        assert!(text.contains(r#"mneme_concurrency_limit{agent_type="memory_harvester"} 64"#), "{text}");
        assert!(Metrics::default().render_prometheus(Occupancy { in_flight: 0, concurrency_limit: 1 }).is_empty());
    }
}
