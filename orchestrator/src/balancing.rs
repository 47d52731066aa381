//! Choosing the instance that takes a request, by the seed's load-balancing strategies: the queue group's
//! own choice (the default), or `round_robin`, `least_loaded` and `response_time` over the instance subjects,
//! from live counts of this sender's requests in flight, each instance's reported queue and the latencies
//! this sender saw.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use mneme_protocol::orchestrator::{ParseStrategyError, Strategy};
use mneme_protocol::stats::StatsResponse;
use mneme_protocol::{AgentMessage, AgentType, ComponentId, ComponentKind, builtin};
use mneme_runtime::{CallError, CallOptions};

use crate::orchestrator::Orchestrator;

/// One instance as this sender sees it.
#[derive(Debug)]
pub struct Member {
    pub id: ComponentId,
    /// This sender's requests to it that have not been answered.
    outstanding: AtomicU64,
    /// Requests of other senders waiting or in flight in it, as of the last refresh.
    others: AtomicU64,
    /// Exponentially weighted mean latency, in microseconds; 0 until measured.
    latency_micros: AtomicU64,
}

impl Member {
    fn new(id: ComponentId) -> Self {
        Member { id, outstanding: AtomicU64::new(0), others: AtomicU64::new(0), latency_micros: AtomicU64::new(0) }
    }

    fn load(&self) -> u64 {
        self.outstanding.load(Ordering::Relaxed) + self.others.load(Ordering::Relaxed)
    }

    fn observe(&self, latency: Duration) {
        let sample = latency.as_micros().min(u128::from(u64::MAX)) as u64;
        let before = self.latency_micros.load(Ordering::Relaxed);
        // A weight of 1/8 for the newest: a slowdown shows within a few requests, one outlier does not rule.
        let next = if before == 0 { sample.max(1) } else { (before * 7 + sample) / 8 };
        self.latency_micros.store(next.max(1), Ordering::Relaxed);
    }
}

/// The instances of one agent type.
#[derive(Debug, Default)]
pub struct Pool {
    members: RwLock<Vec<Arc<Member>>>,
    cursor: AtomicUsize,
}

impl Pool {
    pub fn members(&self) -> Vec<Arc<Member>> {
        self.members.read().expect("unpoisoned").clone()
    }

    fn remove(&self, id: &ComponentId) {
        self.members.write().expect("unpoisoned").retain(|member| &member.id != id);
    }

    /// The member `strategy` picks; none when the pool is empty or the strategy is the queue group's.
    pub fn choose(&self, strategy: Strategy) -> Option<Arc<Member>> {
        let members = self.members.read().expect("unpoisoned");
        if members.is_empty() {
            return None;
        }
        // Ties go round in turn, so that equal instances share the work.
        let start = self.cursor.fetch_add(1, Ordering::Relaxed);
        let in_turn = (0..members.len()).map(|offset| &members[(start + offset) % members.len()]);
        let chosen = match strategy {
            Strategy::QueueGroup => return None,
            Strategy::RoundRobin => in_turn.into_iter().next(),
            Strategy::LeastLoaded => in_turn.min_by_key(|member| member.load()),
            Strategy::ResponseTime => in_turn.min_by_key(|member| {
                let latency = member.latency_micros.load(Ordering::Relaxed);
                latency.saturating_mul(member.outstanding.load(Ordering::Relaxed) + 1)
            }),
        };
        chosen.cloned()
    }
}

/// Sends requests by a strategy, keeping each agent type's pool current in the background.
#[derive(Debug)]
pub struct Balancer {
    orchestrator: Orchestrator,
    pools: Mutex<HashMap<AgentType, Arc<Pool>>>,
    refresh_every: Duration,
}

impl Balancer {
    pub fn new(orchestrator: Orchestrator, refresh_every: Duration) -> Arc<Self> {
        Arc::new(Balancer { orchestrator, pools: Mutex::default(), refresh_every })
    }

    /// The pool of `agent`: found by discovery on first use, then refreshed every `refresh_every` for as long
    /// as the balancer lives.
    pub async fn pool(self: &Arc<Self>, agent: AgentType) -> Arc<Pool> {
        if let Some(pool) = self.pools.lock().expect("unpoisoned").get(&agent) {
            return pool.clone();
        }
        let pool = Arc::new(Pool::default());
        self.refresh(agent, &pool).await;
        let pool = self.pools.lock().expect("unpoisoned").entry(agent).or_insert(pool).clone();
        let balancer: Weak<Balancer> = Arc::downgrade(self);
        let every = self.refresh_every;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(balancer) = balancer.upgrade() else { return };
                let Some(pool) = balancer.pools.lock().expect("unpoisoned").get(&agent).cloned() else { return };
                balancer.refresh(agent, &pool).await;
            }
        });
        pool
    }

    /// Finds the instances of `agent` and what each reports of its queue; members keep their counters.
    async fn refresh(&self, agent: AgentType, pool: &Pool) {
        let found = match self.orchestrator.discover(Some(ComponentKind::Agent(agent))).await {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(%error, %agent, "Refreshing the instances to balance over failed.");
                return;
            }
        };
        let known: HashMap<ComponentId, Arc<Member>> =
            pool.members().into_iter().map(|member| (member.id.clone(), member)).collect();
        let members: Vec<Arc<Member>> = found
            .into_iter()
            .map(|instance| known.get(&instance.id).cloned().unwrap_or_else(|| Arc::new(Member::new(instance.id))))
            .collect();
        let options =
            CallOptions { timeout: Some(Duration::from_secs(1)), retry_no_responders: false, ..Default::default() };
        let empty = serde_json::json!({});
        let reports = futures::future::join_all(
            members.iter().map(|member| self.orchestrator.send_to(&member.id, builtin::GET_STATS, &empty, &options)),
        )
        .await;
        for (member, report) in members.iter().zip(reports) {
            if let Ok(stats) = report.and_then(|reply| {
                reply
                    .payload_as::<StatsResponse>()
                    .map_err(|error| CallError::BadReply { subject: member.id.to_string(), reason: error.to_string() })
            }) {
                let mine = member.outstanding.load(Ordering::Relaxed);
                member.others.store(stats.stats.queue_size.saturating_sub(mine), Ordering::Relaxed);
            }
        }
        *pool.members.write().expect("unpoisoned") = members;
    }

    /// Request-reply with the instance of `agent` that `strategy` picks. An instance found gone is dropped
    /// from the pool and another is tried; with none known, the queue group takes the request.
    pub async fn send<P: Serialize + Sync>(
        self: &Arc<Self>,
        agent: AgentType,
        message_type: &str,
        payload: &P,
        options: &CallOptions,
        strategy: Strategy,
    ) -> Result<AgentMessage, CallError> {
        if strategy != Strategy::QueueGroup {
            let pool = self.pool(agent).await;
            let direct = CallOptions { retry_no_responders: false, ..options.clone() };
            while let Some(member) = pool.choose(strategy) {
                member.outstanding.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let result = self.orchestrator.send_to(&member.id, message_type, payload, &direct).await;
                member.outstanding.fetch_sub(1, Ordering::Relaxed);
                match result {
                    Err(CallError::NoResponders { .. }) => pool.remove(&member.id),
                    Err(CallError::TimedOut { .. }) => return result,
                    answered => {
                        member.observe(started.elapsed());
                        return answered;
                    }
                }
            }
        }
        self.orchestrator.send(agent, message_type, payload, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool_of(loads: &[(u64, u64, u64)]) -> Pool {
        let members = loads
            .iter()
            .enumerate()
            .map(|(index, (outstanding, others, latency))| {
                let member = Member::new(ComponentId::parse(&format!("memory_harvester_0000000{index}")).unwrap());
                member.outstanding.store(*outstanding, Ordering::Relaxed);
                member.others.store(*others, Ordering::Relaxed);
                member.latency_micros.store(*latency, Ordering::Relaxed);
                Arc::new(member)
            })
            .collect();
        Pool { members: RwLock::new(members), cursor: AtomicUsize::new(0) }
    }

    fn picked(pool: &Pool, strategy: Strategy) -> String {
        pool.choose(strategy).unwrap().id.to_string()
    }

    #[test]
    fn each_strategy_picks_as_the_seed_describes() {
        let pool = pool_of(&[(3, 0, 2_000), (1, 1, 20_000), (0, 5, 2_000)]);
        assert_eq!(picked(&pool, Strategy::LeastLoaded), "memory_harvester_00000001");
        // Expected waits: 2000 x 4, 20000 x 2, 2000 x 1.
        assert_eq!(picked(&pool, Strategy::ResponseTime), "memory_harvester_00000002");
        let turns: Vec<String> = (0..3).map(|_| picked(&pool, Strategy::RoundRobin)).collect();
        assert_eq!(turns.iter().collect::<std::collections::HashSet<_>>().len(), 3, "{turns:?}");
        assert!(pool.choose(Strategy::QueueGroup).is_none());
        let unmeasured = pool_of(&[(0, 0, 2_000), (0, 0, 0)]);
        assert_eq!(picked(&unmeasured, Strategy::ResponseTime), "memory_harvester_00000001", "tried first");
    }

    #[test]
    fn equal_instances_share_in_turn() {
        let pool = pool_of(&[(0, 0, 0), (0, 0, 0), (0, 0, 0)]);
        let picks: std::collections::HashSet<String> = (0..3).map(|_| picked(&pool, Strategy::LeastLoaded)).collect();
        assert_eq!(picks.len(), 3);
    }

    #[test]
    fn latency_follows_a_slowdown_within_a_few_requests() {
        let member = Member::new(ComponentId::parse("memory_harvester_00000000").unwrap());
        member.observe(Duration::from_millis(2));
        for _ in 0..8 {
            member.observe(Duration::from_millis(20));
        }
        assert!(member.latency_micros.load(Ordering::Relaxed) > 12_000);
        assert_eq!("least_loaded".parse::<Strategy>().unwrap(), Strategy::LeastLoaded);
        assert!("fastest".parse::<Strategy>().is_err());
    }
}
