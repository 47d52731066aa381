//! The seed's health monitor across processes: every instance is asked for its stats at each check, judged
//! against the alert thresholds over the window since the check before, and its health kept in JetStream KV
//! (`mneme_health`), where a change is written by compare-and-set so that, with several orchestrators
//! watching, exactly one announces it (`mneme.event.health_changed`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use mneme_protocol::orchestrator::{HealthChanged, HealthThresholds, InstanceHealth, SystemHealth, event_types};
use mneme_protocol::stats::StatsResponse;
use mneme_protocol::{AgentState, AgentStats, ComponentId, builtin};
use mneme_runtime::call::{CallError, CallOptions};
use mneme_runtime::kv::KvError;

use crate::analytics::MetricsHistory;
use crate::orchestrator::Orchestrator;
use crate::readings::Reading;

/// The bucket of every instance's latest health.
pub const BUCKET: &str = "mneme_health";
/// Keys are `instance.<agent_id>`.
const PREFIX: &str = "instance";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    /// Whether the orchestrator process watches the system's health.
    pub enabled: bool,
    /// Time between checks.
    pub interval_ms: u64,
    /// How long an instance may take to report its stats before it counts as not responding.
    pub probe_timeout_ms: u64,
    pub response_time_secs: f64,
    pub error_rate: f64,
    pub queue_size: u64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        let thresholds = HealthThresholds::default();
        HealthSettings {
            enabled: true,
            interval_ms: 5_000,
            probe_timeout_ms: 2_000,
            response_time_secs: thresholds.response_time_secs,
            error_rate: thresholds.error_rate,
            queue_size: thresholds.queue_size,
        }
    }
}

impl HealthSettings {
    pub fn thresholds(&self) -> HealthThresholds {
        HealthThresholds {
            response_time_secs: self.response_time_secs,
            error_rate: self.error_rate,
            queue_size: self.queue_size,
        }
    }

    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.interval_ms == 0 || self.probe_timeout_ms == 0 {
            problems.push("health.interval_ms and health.probe_timeout_ms must be at least 1".to_owned());
        }
        if self.probe_timeout_ms >= self.interval_ms {
            problems.push("health.probe_timeout_ms must be shorter than health.interval_ms".to_owned());
        }
        let positive = self.response_time_secs.is_finite() && self.response_time_secs > 0.0;
        if !positive || !(0.0..=1.0).contains(&self.error_rate) {
            problems.push("health.response_time_secs must be above 0 and health.error_rate within 0..1".to_owned());
        }
        problems
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error("cannot find the running instances: {0}")]
    Discovery(String),
}

/// What a probe of one instance found: its stats, or why there are none.
#[derive(Debug, Clone)]
pub enum Probe {
    Stats(Box<AgentStats>),
    /// It did not answer in time: stalled, overloaded or cut off.
    Silent(String),
    /// Nothing serves its subjects any more.
    Gone,
}

/// The seed's `check_agent_health`, over the window since `previous` (the whole life of the instance when
/// there is none, or when it restarted since).
pub fn assess(
    agent_id: &str,
    agent_type: &str,
    previous: Option<&Reading>,
    probe: &Probe,
    thresholds: &HealthThresholds,
    checked_at: &str,
) -> InstanceHealth {
    let mut health = InstanceHealth {
        agent_id: agent_id.to_owned(),
        agent_type: agent_type.to_owned(),
        healthy: true,
        issues: Vec::new(),
        state: AgentState::Error,
        requests: 0,
        errors: 0,
        mean_processing_time: None,
        queue_size: None,
        checked_at: checked_at.to_owned(),
    };
    let stats = match probe {
        Probe::Stats(stats) => stats,
        Probe::Silent(reason) => {
            health.healthy = false;
            health.issues.push(format!("Not responding: {reason}"));
            return health;
        }
        Probe::Gone => {
            health.healthy = false;
            health.issues.push("Gone: nothing serves its subjects".to_owned());
            return health;
        }
    };
    let window = Reading::of(stats).since(previous);
    health.state = stats.state;
    health.requests = window.requests;
    health.errors = window.failures;
    health.queue_size = Some(stats.queue_size);
    if let Some(mean) = window.mean() {
        health.mean_processing_time = Some(mean);
        if mean > thresholds.response_time_secs {
            health.issues.push(format!(
                "High response time: {mean:.2} s on average over {} requests (limit {} s)",
                health.requests, thresholds.response_time_secs
            ));
        }
        let rate = health.errors as f64 / health.requests as f64;
        if rate > thresholds.error_rate {
            health.issues.push(format!(
                "High error rate: {} of {} requests failed ({:.0}%, limit {:.0}%)",
                health.errors,
                health.requests,
                rate * 100.0,
                thresholds.error_rate * 100.0
            ));
        }
    }
    if stats.queue_size > thresholds.queue_size {
        health.issues.push(format!(
            "Message queue overload: {} requests waiting (limit {})",
            stats.queue_size, thresholds.queue_size
        ));
    }
    if stats.state == AgentState::Error {
        health.issues.push("Reports itself in error: its NATS connection is down".to_owned());
    }
    health.healthy = health.issues.is_empty();
    health
}

fn now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Millisecond).unwrap_or_else(|_| jiff::Timestamp::now()).to_string()
}

/// Watches every instance's health and keeps it in the bucket.
pub struct HealthMonitor {
    orchestrator: Orchestrator,
    jetstream: jetstream::Context,
    /// Where health is kept; none for a look that records and announces nothing (`mneme health` when no
    /// orchestrator has checked yet).
    store: Option<kv::Store>,
    settings: HealthSettings,
    readings: Mutex<HashMap<String, Reading>>,
    /// Where what the checks read is kept for performance reports; none when analytics is off.
    history: Option<MetricsHistory>,
}

impl HealthMonitor {
    pub async fn open(orchestrator: Orchestrator, settings: HealthSettings) -> Result<Self, HealthError> {
        let jetstream = jetstream::new(orchestrator.client().clone());
        let store = mneme_runtime::kv::bucket(&jetstream, BUCKET, "Mneme: every instance's latest health", 1).await?;
        Ok(HealthMonitor {
            orchestrator,
            jetstream,
            store: Some(store),
            settings,
            readings: Mutex::default(),
            history: None,
        })
    }

    /// Keeps what each check reads in `history` too.
    pub fn recording(mut self, history: MetricsHistory) -> Self {
        self.history = Some(history);
        self
    }

    /// A monitor that only looks: it records nothing and announces nothing.
    pub fn observer(orchestrator: Orchestrator, settings: HealthSettings) -> Self {
        let jetstream = jetstream::new(orchestrator.client().clone());
        HealthMonitor { orchestrator, jetstream, store: None, settings, readings: Mutex::default(), history: None }
    }

    /// Checks until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(Duration::from_millis(self.settings.interval_ms));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {
                    if let Err(error) = self.check().await {
                        tracing::warn!(%error, "A health check failed; the next one tries again.");
                    }
                }
            }
        }
    }

    async fn probe(&self, id: &ComponentId) -> Probe {
        let options = CallOptions {
            timeout: Some(Duration::from_millis(self.settings.probe_timeout_ms)),
            retry_no_responders: false,
            ..Default::default()
        };
        match self.orchestrator.send_to(id, builtin::GET_STATS, &serde_json::json!({}), &options).await {
            Ok(reply) => match reply.payload_as::<StatsResponse>() {
                Ok(response) => Probe::Stats(Box::new(response.stats)),
                Err(error) => Probe::Silent(format!("its stats do not read: {error}")),
            },
            Err(CallError::NoResponders { .. }) => Probe::Gone,
            Err(CallError::TimedOut { timeout, .. }) => Probe::Silent(format!("no stats within {timeout:?}")),
            Err(error) => Probe::Silent(error.to_string()),
        }
    }

    /// One check of every instance found by discovery or known from earlier checks (a stalled process
    /// answers neither discovery nor its stats, and must not drop out of sight).
    pub async fn check(&self) -> Result<SystemHealth, HealthError> {
        let mut instances: BTreeMap<String, (ComponentId, String)> = BTreeMap::new();
        let mut known: HashMap<String, InstanceHealth> = HashMap::new();
        let kept = match &self.store {
            Some(_) => mneme_runtime::kv::scan(&self.jetstream, BUCKET, PREFIX).await?,
            None => Vec::new(),
        };
        for (key, bytes) in kept {
            let Ok(health) = serde_json::from_slice::<InstanceHealth>(&bytes) else { continue };
            if let Some(id) = ComponentId::parse(&key) {
                instances.insert(key.clone(), (id, health.agent_type.clone()));
            }
            known.insert(key, health);
        }
        let discovered =
            self.orchestrator.discover(None).await.map_err(|error| HealthError::Discovery(error.to_string()))?;
        for instance in discovered {
            instances.insert(instance.id.to_string(), (instance.id.clone(), instance.kind.to_string()));
        }
        let checked_at = now();
        let thresholds = self.settings.thresholds();
        let probes = futures::future::join_all(instances.values().map(|(id, _)| self.probe(id))).await;
        if let Some(history) = &self.history {
            let samples = instances.values().zip(&probes).filter_map(|((id, _), probe)| match probe {
                Probe::Stats(stats) => Some(history.record(id, stats)),
                _ => None,
            });
            for outcome in futures::future::join_all(samples).await {
                if let Err(error) = outcome {
                    tracing::warn!(%error, "A metrics sample was not kept.");
                }
            }
            history.retain(|key| instances.contains_key(key));
        }
        let mut report = Vec::new();
        for ((key, (_, agent_type)), probe) in instances.iter().zip(probes) {
            let previous = self.readings.lock().expect("unpoisoned").get(key).copied();
            let health = assess(key, agent_type, previous.as_ref(), &probe, &thresholds, &checked_at);
            match &probe {
                Probe::Stats(stats) => {
                    self.readings.lock().expect("unpoisoned").insert(key.clone(), Reading::of(stats));
                }
                Probe::Gone => {
                    self.readings.lock().expect("unpoisoned").remove(key);
                }
                Probe::Silent(_) => {}
            }
            let before = known.remove(key);
            self.record(key, before.as_ref(), &health, matches!(probe, Probe::Gone)).await?;
            if !matches!(probe, Probe::Gone) {
                report.push(health);
            }
        }
        let healthy = report.iter().all(|health| health.healthy);
        Ok(SystemHealth { healthy, thresholds, instances: report })
    }

    /// Keeps `health` as the instance's latest, and announces a change: written by compare-and-set against
    /// the revision read, so that of several orchestrators checking at once only the one whose write lands
    /// announces it.
    async fn record(
        &self,
        agent_id: &str,
        before: Option<&InstanceHealth>,
        health: &InstanceHealth,
        gone: bool,
    ) -> Result<(), HealthError> {
        let Some(store) = &self.store else { return Ok(()) };
        let key = format!("{PREFIX}.{agent_id}");
        let failed = |error: &dyn std::fmt::Display| KvError { bucket: BUCKET.to_owned(), reason: error.to_string() };
        let entry = store.entry(&key).await.map_err(|error| failed(&error))?;
        let revision = entry.as_ref().filter(|entry| entry.operation == kv::Operation::Put).map(|entry| entry.revision);
        let changed = before.is_none_or(|before| before.healthy != health.healthy || gone);
        let landed = if gone {
            match revision {
                Some(revision) => store.purge_expect_revision(&key, Some(revision)).await.is_ok(),
                None => false,
            }
        } else {
            let value: bytes::Bytes = serde_json::to_vec(health).map_err(|error| failed(&error))?.into();
            match revision {
                Some(revision) => store.update(&key, value, revision).await.is_ok(),
                None => store.create(&key, value).await.is_ok(),
            }
        };
        if landed && changed {
            let event = HealthChanged {
                instance: health.clone(),
                previously_healthy: before.map(|before| before.healthy),
                gone,
            };
            // An instance that answers no more has left, as instances do when scaled in or stopped: news, not a
            // fault (a process that died is the supervisor's to tell).
            if gone {
                tracing::info!(agent_id, "An instance is gone.");
            } else if !health.healthy {
                tracing::warn!(agent_id, issues = ?health.issues, "An instance is unhealthy.");
            } else {
                tracing::info!(agent_id, "An instance is healthy.");
            }
            if let Err(error) = self.orchestrator.broadcast(event_types::HEALTH_CHANGED, &event, None).await.map(|_| ())
            {
                tracing::warn!(%error, "Announcing a change of health failed.");
            }
        }
        Ok(())
    }
}

/// Every instance's latest health as the monitors recorded it (nothing when none has run).
pub async fn recorded(
    jetstream: &jetstream::Context,
    thresholds: HealthThresholds,
) -> Result<SystemHealth, HealthError> {
    if jetstream.get_key_value(BUCKET).await.is_err() {
        return Ok(SystemHealth { healthy: true, thresholds, instances: Vec::new() });
    }
    let mut instances: Vec<InstanceHealth> = mneme_runtime::kv::scan(jetstream, BUCKET, PREFIX)
        .await?
        .into_iter()
        .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
        .collect();
    instances.sort_by(|a, b| (&a.agent_type, &a.agent_id).cmp(&(&b.agent_type, &b.agent_id)));
    Ok(SystemHealth { healthy: instances.iter().all(|health| health.healthy), thresholds, instances })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stats whose errors are all failures.
    fn stats(processed: u64, failures: u64, mean: f64, queue: u64) -> AgentStats {
        serde_json::from_value(serde_json::json!({
            "agent_id": "memory_harvester_0a1b2c3d", "agent_type": "memory_harvester", "version": "0.1.0",
            "state": "active", "messages_processed": processed, "errors_count": failures, "failures_count": failures,
            "avg_processing_time": mean, "last_activity": null, "queue_size": queue, "in_flight": 0,
            "max_concurrency": 64, "shed_count": 0, "events_received": 0, "started_at": 1.0, "uptime_secs": 10.0
        }))
        .unwrap()
    }

    fn judge(previous: Option<&Reading>, probe: &Probe) -> InstanceHealth {
        assess("memory_harvester_0a1b2c3d", "memory_harvester", previous, probe, &HealthThresholds::default(), "t")
    }

    #[test]
    fn the_seeds_thresholds_apply_to_the_window_since_the_last_check() {
        let healthy = judge(None, &Probe::Stats(Box::new(stats(100, 1, 0.01, 3))));
        assert!(healthy.healthy, "{healthy:?}");
        // 20 failures among the 40 requests since: 50% in the window, although 21 of 140 over the life.
        let before = Reading::of(&stats(100, 1, 0.01, 3));
        let failing = judge(Some(&before), &Probe::Stats(Box::new(stats(140, 21, 0.01, 3))));
        assert!(!failing.healthy && failing.issues[0].starts_with("High error rate: 20 of 40"), "{failing:?}");
        // A window without requests says nothing of errors or time.
        let after = Reading::of(&stats(140, 21, 0.01, 3));
        assert!(judge(Some(&after), &Probe::Stats(Box::new(stats(140, 21, 0.01, 3)))).healthy);
        // Ten requests of 12 s each in the window: the mean over the window, not the life, is judged.
        let slow = stats(150, 21, (0.01 * 140.0 + 120.0) / 150.0, 3);
        let judged = judge(Some(&after), &Probe::Stats(Box::new(slow)));
        assert!(judged.issues.iter().any(|issue| issue.starts_with("High response time: 12.00 s")), "{judged:?}");
        let queued = judge(None, &Probe::Stats(Box::new(stats(0, 0, 0.0, 101))));
        assert!(queued.issues[0].starts_with("Message queue overload: 101"), "{queued:?}");
        let silent = judge(Some(&after), &Probe::Silent("no stats within 2s".to_owned()));
        assert!(!silent.healthy && silent.issues[0].starts_with("Not responding"));
    }

    #[test]
    fn refusals_of_what_clients_sent_are_no_mark_against_an_instance() {
        let before = Reading::of(&stats(100, 0, 0.01, 0));
        // 30 of the 40 requests since were refused (bad input, access denied), 1 failed.
        let mut refusing = stats(140, 1, 0.01, 0);
        refusing.errors_count = 31;
        let judged = judge(Some(&before), &Probe::Stats(Box::new(refusing)));
        assert!(judged.healthy, "{judged:?}");
        assert_eq!((judged.requests, judged.errors), (40, 1));
    }

    #[test]
    fn a_restarted_instance_is_judged_from_its_start() {
        let before = Reading::of(&stats(1_000, 0, 0.01, 0));
        let mut restarted = stats(10, 5, 0.01, 0);
        restarted.started_at = 2.0;
        let judged = judge(Some(&before), &Probe::Stats(Box::new(restarted)));
        assert_eq!((judged.requests, judged.errors), (10, 5));
        assert!(!judged.healthy);
    }
}
