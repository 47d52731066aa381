//! Autoscaling for `mneme up`: for each agent type with a policy, the local supervisor's replicas follow a
//! target of requests in flight per instance, of mean latency, or of ingest backlog per instance, within a
//! minimum and a maximum, as a Kubernetes HorizontalPodAutoscaler would (desired = ⌈current × observed /
//! target⌉, nothing done within 10% of the target, scale-down only once it has been called for through a
//! whole cooldown).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use mneme_protocol::orchestrator::{Autoscaled, event_types};
use mneme_protocol::stats::StatsResponse;
use mneme_protocol::subjects::jetstream as names;
use mneme_protocol::{AgentType, ComponentKind, builtin};
use mneme_runtime::CallOptions;

use crate::orchestrator::Orchestrator;
use crate::readings::Reading;
use crate::supervisor::Supervisor;

/// `[autoscale]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoscaleSettings {
    pub enabled: bool,
    /// Time between looks at the load.
    pub interval_ms: u64,
    /// By agent type (`[autoscale.policies.memory_harvester]`); types without one keep their replicas.
    pub policies: BTreeMap<AgentType, ScalingPolicy>,
}

impl Default for AutoscaleSettings {
    fn default() -> Self {
        AutoscaleSettings { enabled: false, interval_ms: 5_000, policies: BTreeMap::new() }
    }
}

/// What is measured against `target`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingMetric {
    /// Requests waiting or in flight per instance, as the instances report them.
    #[default]
    InFlight,
    /// Mean handling time, in seconds, of the requests answered since the last look.
    Latency,
    /// Ingest inputs waiting or unacknowledged, per instance.
    Backlog,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScalingPolicy {
    pub metric: ScalingMetric,
    pub target: f64,
    pub min: usize,
    pub max: usize,
    /// No change within this long of the last one; and a scale-down must have been called for this long.
    pub cooldown_secs: u64,
}

impl Default for ScalingPolicy {
    fn default() -> Self {
        ScalingPolicy { metric: ScalingMetric::InFlight, target: 8.0, min: 1, max: 4, cooldown_secs: 60 }
    }
}

/// Within this share of the target, nothing changes.
const TOLERANCE: f64 = 0.1;

impl ScalingPolicy {
    /// The replicas called for when `current` instances show `observed`.
    pub fn desired(&self, current: usize, observed: f64) -> usize {
        if current == 0 {
            return self.min;
        }
        let ratio = observed / self.target;
        if !ratio.is_finite() || (ratio - 1.0).abs() <= TOLERANCE {
            return current.clamp(self.min, self.max);
        }
        let wanted = (current as f64 * ratio).ceil() as usize;
        wanted.clamp(self.min, self.max)
    }
}

impl AutoscaleSettings {
    pub fn problems(&self, max_replicas: usize) -> Vec<String> {
        let mut problems = Vec::new();
        if self.interval_ms < 100 {
            problems.push("autoscale.interval_ms must be at least 100".to_owned());
        }
        for (agent, policy) in &self.policies {
            let at = format!("autoscale.policies.{agent}");
            if !(policy.target.is_finite() && policy.target > 0.0) {
                problems.push(format!("{at}.target must be above 0"));
            }
            if policy.min == 0 || policy.min > policy.max {
                problems.push(format!("{at}: min must be at least 1 and at most max"));
            }
            if policy.max > max_replicas {
                problems.push(format!("{at}.max exceeds supervisor.max_replicas ({max_replicas})"));
            }
        }
        problems
    }
}

/// Where one agent type stands between looks.
#[derive(Debug, Default)]
struct TypeState {
    last_change: Option<Instant>,
    /// Since when a scale-down has been called for, without a pause.
    lower_since: Option<Instant>,
    /// Each instance's counters at the last look, for the latency of the requests since.
    seen: HashMap<String, Reading>,
}

pub struct Autoscaler {
    supervisor: Arc<Supervisor>,
    orchestrator: Orchestrator,
    settings: AutoscaleSettings,
    states: HashMap<AgentType, TypeState>,
}

impl Autoscaler {
    pub fn new(supervisor: Arc<Supervisor>, orchestrator: Orchestrator, settings: AutoscaleSettings) -> Self {
        Autoscaler { supervisor, orchestrator, settings, states: HashMap::new() }
    }

    /// Looks and scales every `interval_ms` until `stop` is cancelled.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(Duration::from_millis(self.settings.interval_ms));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let agents: Vec<String> = self.settings.policies.keys().map(ToString::to_string).collect();
        tracing::info!(agents = %agents.join(", "), "Autoscaling.");
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let policies: Vec<(AgentType, ScalingPolicy)> =
                self.settings.policies.iter().map(|(agent, policy)| (*agent, policy.clone())).collect();
            for (agent, policy) in policies {
                if stop.is_cancelled() {
                    return;
                }
                self.look(agent, &policy).await;
            }
        }
    }

    async fn look(&mut self, agent: AgentType, policy: &ScalingPolicy) {
        let Some(&current) = self.supervisor.replicas().await.get(agent.as_str()) else { return };
        let Some(observed) = self.observe(agent, policy.metric, current).await else { return };
        let desired = policy.desired(current, observed);
        let now = Instant::now();
        let cooldown = Duration::from_secs(policy.cooldown_secs);
        let state = self.states.entry(agent).or_default();
        let cooling = state.last_change.is_some_and(|at| now.duration_since(at) < cooldown);
        let proceed = match desired.cmp(&current) {
            std::cmp::Ordering::Equal => {
                state.lower_since = None;
                false
            }
            std::cmp::Ordering::Greater => {
                state.lower_since = None;
                !cooling
            }
            std::cmp::Ordering::Less => {
                let since = *state.lower_since.get_or_insert(now);
                !cooling && now.duration_since(since) >= cooldown
            }
        };
        if !proceed {
            return;
        }
        tracing::info!(%agent, current, desired, observed, target = policy.target, "Autoscaling.");
        match self.supervisor.scale(agent, desired).await {
            Ok(scaled) => {
                let state = self.states.entry(agent).or_default();
                state.last_change = Some(Instant::now());
                state.lower_since = None;
                let event = Autoscaled {
                    agent_type: agent,
                    before: scaled.before,
                    after: scaled.after,
                    metric: serde_json::to_value(policy.metric)
                        .ok()
                        .and_then(|value| value.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    observed,
                    target: policy.target,
                };
                if let Err(error) = self.orchestrator.broadcast(event_types::AUTOSCALED, &event, None).await {
                    tracing::warn!(%error, "Autoscaling was not announced.");
                }
            }
            Err(error) => tracing::warn!(%error, %agent, "Autoscaling failed."),
        }
    }

    /// The metric as it stands for `agent`'s `current` instances; `None` when it cannot be read now.
    async fn observe(&mut self, agent: AgentType, metric: ScalingMetric, current: usize) -> Option<f64> {
        if metric == ScalingMetric::Backlog {
            let jetstream = jetstream::new(self.orchestrator.client().clone());
            let stream = jetstream.get_stream(names::INGEST_STREAM).await.ok()?;
            let consumer_info = stream.consumer_info(names::INGEST_CONSUMER).await.ok()?;
            let waiting = consumer_info.num_pending as f64 + consumer_info.num_ack_pending as f64;
            return Some(waiting / current.max(1) as f64);
        }
        let instances = self.orchestrator.discover(Some(ComponentKind::Agent(agent))).await.ok()?;
        let options =
            CallOptions { timeout: Some(Duration::from_secs(1)), retry_no_responders: false, ..Default::default() };
        let empty = serde_json::json!({});
        let replies = futures::future::join_all(
            instances
                .iter()
                .map(|instance| self.orchestrator.send_to(&instance.id, builtin::GET_STATS, &empty, &options)),
        )
        .await;
        let stats: Vec<_> = replies
            .into_iter()
            .filter_map(|reply| reply.ok()?.payload_as::<StatsResponse>().ok())
            .map(|response| response.stats)
            .collect();
        if stats.is_empty() {
            return None;
        }
        match metric {
            ScalingMetric::InFlight => {
                Some(stats.iter().map(|stats| stats.queue_size as f64).sum::<f64>() / stats.len() as f64)
            }
            ScalingMetric::Latency => {
                let state = self.states.entry(agent).or_default();
                let (mut requests, mut busy) = (0u64, 0.0f64);
                let mut seen = HashMap::new();
                for stats in &stats {
                    let now = Reading::of(stats);
                    if let Some(before) = state.seen.get(&stats.agent_id) {
                        let growth = now.since(Some(before));
                        if !growth.restarted {
                            requests += growth.requests;
                            busy += growth.busy;
                        }
                    }
                    seen.insert(stats.agent_id.clone(), now);
                }
                state.seen = seen;
                // No requests since the last look: no latency to speak of, which calls for the fewest replicas.
                Some(if requests == 0 { 0.0 } else { busy / requests as f64 })
            }
            ScalingMetric::Backlog => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_follow_the_target_within_bounds_and_tolerance() {
        let policy = ScalingPolicy { target: 10.0, min: 1, max: 5, ..Default::default() };
        assert_eq!(policy.desired(1, 35.0), 4);
        assert_eq!(policy.desired(2, 40.0), 5, "capped at max");
        assert_eq!(policy.desired(3, 10.5), 3, "within the tolerance");
        assert_eq!(policy.desired(4, 2.0), 1);
        assert_eq!(policy.desired(2, 0.0), 1, "at least min");
        assert_eq!(policy.desired(0, 50.0), 1);
    }

    #[test]
    fn policies_are_checked_against_the_supervisors_bounds() {
        let mut settings = AutoscaleSettings::default();
        settings.policies.insert(AgentType::MemoryHarvester, ScalingPolicy { min: 3, max: 2, ..Default::default() });
        settings
            .policies
            .insert(AgentType::PrivacyGuardian, ScalingPolicy { max: 20, target: 0.0, ..Default::default() });
        assert_eq!(settings.problems(16).len(), 3, "{:?}", settings.problems(16));
    }
}
