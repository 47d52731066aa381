//! Performance analytics: the health checks' readings kept as a metrics history in a JetStream stream
//! (`MNEME_METRICS`, one subject per instance, aged out after `analytics.keep_secs`), and the seed's
//! `generate_performance_report` over any time range of it, with its grades A to D.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use mneme_protocol::message::unix_now;
use mneme_protocol::orchestrator::{
    MetricsSample, PerformanceGrade, PerformanceReport, PerformanceReportRequest, PerformanceReports,
};
use mneme_protocol::subjects::{self, headers, jetstream as names};
use mneme_protocol::{AgentStats, ComponentId};

use crate::readings::Reading;

/// How the metrics history is kept (`[analytics]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsSettings {
    /// Whether the health checks record what they read.
    pub enabled: bool,
    /// One sample per instance at most this often; several orchestrators together still record one.
    pub sample_every_secs: u64,
    /// How long samples are kept.
    pub keep_secs: u64,
    /// The most the history may take on disk; the oldest samples go first.
    pub max_bytes: i64,
    pub stream_replicas: usize,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        AnalyticsSettings {
            enabled: true,
            sample_every_secs: 60,
            keep_secs: 7 * 24 * 3600,
            max_bytes: 256 * 1024 * 1024,
            stream_replicas: 1,
        }
    }
}

impl AnalyticsSettings {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.sample_every_secs == 0 || self.keep_secs < self.sample_every_secs {
            problems.push("analytics.sample_every_secs must be at least 1 and at most analytics.keep_secs".to_owned());
        }
        if self.max_bytes < 1024 * 1024 {
            problems.push("analytics.max_bytes must be at least 1 MiB".to_owned());
        }
        if self.stream_replicas == 0 {
            problems.push("analytics.stream_replicas must be at least 1".to_owned());
        }
        problems
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("the metrics history: {0}")]
    JetStream(String),
    #[error("no metrics history is kept yet: an orchestrator with health checks and analytics on records it")]
    NoHistory,
    #[error("time_range_secs must be between 1 and {0}")]
    BadRange(u64),
}

fn failed(error: impl std::fmt::Display) -> AnalyticsError {
    AnalyticsError::JetStream(error.to_string())
}

/// Records samples, one per instance and period.
pub struct MetricsHistory {
    jetstream: jetstream::Context,
    settings: AnalyticsSettings,
    /// The period each instance was last recorded in, so a monitor checking every few seconds publishes once
    /// per period.
    recorded: Mutex<HashMap<String, u64>>,
}

impl MetricsHistory {
    pub async fn open(jetstream: jetstream::Context, settings: AnalyticsSettings) -> Result<Self, AnalyticsError> {
        jetstream
            .get_or_create_stream(stream::Config {
                name: names::METRICS_STREAM.to_owned(),
                description: Some("Mneme: every instance's stats as the health checks read them".to_owned()),
                subjects: vec![subjects::METRICS_WILDCARD.to_owned()],
                storage: stream::StorageType::File,
                max_age: Duration::from_secs(settings.keep_secs),
                max_bytes: settings.max_bytes,
                // Another orchestrator's sample of the same instance and period is the same sample.
                duplicate_window: Duration::from_secs(settings.sample_every_secs),
                num_replicas: settings.stream_replicas,
                ..Default::default()
            })
            .await
            .map_err(failed)?;
        Ok(MetricsHistory { jetstream, settings, recorded: Mutex::default() })
    }

    /// Keeps `stats` as the instance's sample of the current period, unless it has one.
    pub async fn record(&self, id: &ComponentId, stats: &AgentStats) -> Result<(), AnalyticsError> {
        let now = unix_now();
        let period = (now / self.settings.sample_every_secs as f64) as u64;
        let key = id.to_string();
        if self.recorded.lock().expect("unpoisoned").get(&key) == Some(&period) {
            return Ok(());
        }
        let sample = MetricsSample { recorded_at: now, stats: stats.clone() };
        let body = rmp_serde::to_vec_named(&sample).map_err(failed)?;
        let mut sample_headers = HeaderMap::new();
        sample_headers.insert(headers::MSG_ID, format!("{key}.{period}").as_str());
        self.jetstream
            .publish_with_headers(subjects::metrics(id), sample_headers, body.into())
            .await
            .map_err(failed)?
            .await
            .map_err(failed)?;
        self.recorded.lock().expect("unpoisoned").insert(key, period);
        Ok(())
    }

    /// Forgets the instances not in `live`, so the map does not grow with every replica ever started.
    pub fn retain(&self, live: impl Fn(&str) -> bool) {
        self.recorded.lock().expect("unpoisoned").retain(|key, _| live(key));
    }
}

/// The longest range a report covers.
const MAX_RANGE_SECS: u64 = 366 * 24 * 3600;

/// The seed's `generate_performance_report` for every instance `request` names that has samples in its range.
pub async fn reports(
    jetstream: &jetstream::Context,
    request: &PerformanceReportRequest,
) -> Result<PerformanceReports, AnalyticsError> {
    let range = request.time_range_secs.unwrap_or(3_600);
    if range == 0 || range > MAX_RANGE_SECS {
        return Err(AnalyticsError::BadRange(MAX_RANGE_SECS));
    }
    let stream = jetstream.get_stream(names::METRICS_STREAM).await.map_err(|_| AnalyticsError::NoHistory)?;
    let filter = match request.agent_id.as_deref().and_then(ComponentId::parse) {
        Some(id) => subjects::metrics(&id),
        None => subjects::METRICS_WILDCARD.to_owned(),
    };
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(range as i64);
    let start = time::OffsetDateTime::from_unix_timestamp(since.as_second()).map_err(failed)?;
    let mut consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: filter,
            deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time: start },
            ..Default::default()
        })
        .await
        .map_err(failed)?;
    let pending = consumer.info().await.map_err(failed)?.num_pending;
    let mut by_instance: BTreeMap<String, Vec<MetricsSample>> = BTreeMap::new();
    if pending > 0 {
        let mut messages = consumer.messages().await.map_err(failed)?.take(pending as usize);
        while let Some(message) = messages.next().await {
            let message = message.map_err(failed)?;
            // A sample that does not read is skipped: the rest of the history still reports.
            let Ok(sample) = rmp_serde::from_slice::<MetricsSample>(&message.payload) else { continue };
            if request.agent_id.as_ref().is_some_and(|id| *id != sample.stats.agent_id)
                || request.agent_type.as_ref().is_some_and(|kind| *kind != sample.stats.agent_type)
            {
                continue;
            }
            by_instance.entry(sample.stats.agent_id.clone()).or_default().push(sample);
        }
    }
    let reports = by_instance.values().filter_map(|samples| report(samples, range)).collect();
    Ok(PerformanceReports { time_range_secs: range, reports })
}

/// The report of one instance's samples, oldest first. Counters are cumulative from the instance's start, so
/// the range's requests are the growth from the first sample to the last, summed over restarts (a sample whose
/// `started_at` differs from the one before starts from zero).
pub fn report(samples: &[MetricsSample], range_secs: u64) -> Option<PerformanceReport> {
    let first = samples.first()?;
    let last = samples.last()?;
    let (mut messages, mut errors, mut busy, mut restarts) = (0u64, 0u64, 0.0f64, 0usize);
    for pair in samples.windows(2) {
        let growth = Reading::of(&pair[1].stats).since(Some(&Reading::of(&pair[0].stats)));
        messages += growth.requests;
        errors += growth.failures;
        busy += growth.busy;
        restarts += usize::from(growth.restarted);
    }
    let error_rate = if messages > 0 { errors as f64 / messages as f64 } else { 0.0 };
    let avg_response_time = if messages > 0 { busy / messages as f64 } else { 0.0 };
    let avg_queue_size =
        samples.iter().map(|sample| sample.stats.queue_size as f64).sum::<f64>() / samples.len() as f64;
    Some(PerformanceReport {
        agent_id: last.stats.agent_id.clone(),
        agent_type: last.stats.agent_type.clone(),
        time_range_hours: range_secs as f64 / 3_600.0,
        from: first.recorded_at,
        until: last.recorded_at,
        samples: samples.len(),
        total_messages_processed: messages,
        total_errors: errors,
        error_rate,
        avg_response_time,
        avg_queue_size,
        restarts,
        performance_grade: PerformanceGrade::of(error_rate, avg_response_time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: f64, started_at: f64, processed: u64, errors: u64, mean: f64, queue: u64) -> MetricsSample {
        let stats = AgentStats {
            agent_id: "memory_harvester_0a0b0c0d".to_owned(),
            agent_type: "memory_harvester".to_owned(),
            started_at,
            messages_processed: processed,
            errors_count: errors,
            failures_count: errors,
            avg_processing_time: mean,
            queue_size: queue,
            version: String::new(),
            state: mneme_protocol::AgentState::Active,
            last_activity: None,
            in_flight: 0,
            max_concurrency: 64,
            shed_count: 0,
            events_received: 0,
            uptime_secs: 0.0,
            by_message_type: None,
            adaptation: None,
        };
        MetricsSample { recorded_at: at, stats }
    }

    #[test]
    fn the_seeds_grades() {
        assert_eq!(PerformanceGrade::of(0.0, 0.5), PerformanceGrade::A);
        assert_eq!(PerformanceGrade::of(0.02, 0.5), PerformanceGrade::B);
        assert_eq!(PerformanceGrade::of(0.0, 1.5), PerformanceGrade::B);
        assert_eq!(PerformanceGrade::of(0.07, 0.1), PerformanceGrade::C);
        assert_eq!(PerformanceGrade::of(0.0, 4.0), PerformanceGrade::C);
        assert_eq!(PerformanceGrade::of(0.2, 0.1), PerformanceGrade::D);
        assert_eq!(PerformanceGrade::of(0.0, 6.0), PerformanceGrade::D);
    }

    #[test]
    fn the_range_counts_growth_between_samples_across_a_restart() {
        let samples = [
            sample(0.0, -100.0, 1_000, 10, 0.5, 2),
            // 100 requests at 3 s each, 6 of them failed.
            sample(60.0, -100.0, 1_100, 16, (0.5 * 1_000.0 + 300.0) / 1_100.0, 4),
            // Restarted: 50 requests since, at 1 s, none failed.
            sample(120.0, 100.0, 50, 0, 1.0, 0),
        ];
        let report = report(&samples, 3_600).unwrap();
        assert_eq!(report.total_messages_processed, 150);
        assert_eq!(report.total_errors, 6);
        assert_eq!(report.restarts, 1);
        assert!((report.error_rate - 0.04).abs() < 1e-9);
        assert!((report.avg_response_time - 350.0 / 150.0).abs() < 1e-9, "{}", report.avg_response_time);
        assert!((report.avg_queue_size - 2.0).abs() < 1e-9);
        assert_eq!(report.performance_grade, PerformanceGrade::C);
        assert!(super::report(&[], 3_600).is_none());
    }
}
