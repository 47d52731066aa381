//! The seed's collaboration protocol across processes: a task's parts are given to the agent types that
//! advertise the capability each needs (found through `$SRV.INFO`), sent all at once to their least loaded
//! instances under one deadline, and the answers synthesized: merged, agreed on by a quorum, or the first
//! good one. What is not answered by the deadline is reported missing, never waited for.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use mneme_protocol::orchestrator::{
    CollaborateRequest, CollaborationResult, CoordinationStrategy, SubtaskMissing, SubtaskResult,
};
use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::CallOptions;

use crate::balancing::{Balancer, Strategy};
use crate::discovery::ServiceInstance;

pub const DEFAULT_DEADLINE_MS: u64 = 5_000;
pub const MAX_DEADLINE_MS: u64 = 60_000;
pub const MAX_SUBTASKS: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CollaborationError {
    #[error("a collaboration needs 1 to {MAX_SUBTASKS} subtasks, not {0}")]
    Subtasks(usize),
    #[error("deadline_ms must be 1 to {MAX_DEADLINE_MS}")]
    Deadline,
    #[error("a quorum must be 1 to the number of subtasks ({subtasks}), not {quorum}")]
    Quorum { quorum: usize, subtasks: usize },
    #[error("subtask {0} names no capability")]
    Capability(usize),
}

/// The agent type that takes a subtask: among those whose running instances advertise the capability (and
/// the one pinned, if any), the one with the most instances, which can best carry it.
pub fn assign(capability: &str, pinned: Option<AgentType>, instances: &[ServiceInstance]) -> Option<AgentType> {
    let mut counts: BTreeMap<AgentType, usize> = BTreeMap::new();
    for instance in instances {
        let ComponentKind::Agent(agent) = instance.kind else { continue };
        if pinned.is_some_and(|pinned| pinned != agent) {
            continue;
        }
        if instance.capabilities.iter().any(|advertised| advertised.name == capability) {
            *counts.entry(agent).or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(agent, count)| (*count, std::cmp::Reverse(*agent))).map(|(agent, _)| agent)
}

/// The answers of a collaboration, synthesized by its strategy.
pub fn synthesize(
    request: &CollaborateRequest,
    mut results: Vec<SubtaskResult>,
    mut missing: Vec<SubtaskMissing>,
    elapsed: Duration,
) -> CollaborationResult {
    results.sort_by_key(|result| result.index);
    missing.sort_by_key(|part| part.index);
    let parts = request.subtasks.len();
    let (mut outcome, mut agreed, mut quorum) = (None, None, None);
    let complete = match request.strategy {
        CoordinationStrategy::Merge => missing.is_empty(),
        CoordinationStrategy::FirstGood => {
            outcome = results.first().map(|result| result.payload.clone());
            outcome.is_some()
        }
        CoordinationStrategy::Consensus => {
            let needed = request.quorum.unwrap_or(parts / 2 + 1);
            let mut groups: Vec<(&serde_json::Value, usize)> = Vec::new();
            for result in &results {
                match groups.iter_mut().find(|(payload, _)| **payload == result.payload) {
                    Some((_, count)) => *count += 1,
                    None => groups.push((&result.payload, 1)),
                }
            }
            let best = groups.into_iter().max_by_key(|(_, count)| *count);
            quorum = Some(needed);
            agreed = Some(best.map(|(_, count)| count).unwrap_or(0));
            match best {
                Some((payload, count)) if count >= needed => {
                    outcome = Some(payload.clone());
                    true
                }
                _ => false,
            }
        }
    };
    CollaborationResult {
        task: request.task.clone(),
        strategy: request.strategy,
        complete,
        results,
        missing,
        outcome,
        agreed,
        quorum,
        elapsed_ms: elapsed.as_millis() as u64,
    }
}

fn check(request: &CollaborateRequest) -> Result<Duration, CollaborationError> {
    let parts = request.subtasks.len();
    if parts == 0 || parts > MAX_SUBTASKS {
        return Err(CollaborationError::Subtasks(parts));
    }
    if let Some(index) = request.subtasks.iter().position(|subtask| subtask.capability.trim().is_empty()) {
        return Err(CollaborationError::Capability(index));
    }
    if let Some(quorum) = request.quorum
        && (quorum == 0 || quorum > parts)
    {
        return Err(CollaborationError::Quorum { quorum, subtasks: parts });
    }
    let deadline_ms = request.deadline_ms.unwrap_or(DEFAULT_DEADLINE_MS);
    if deadline_ms == 0 || deadline_ms > MAX_DEADLINE_MS {
        return Err(CollaborationError::Deadline);
    }
    Ok(Duration::from_millis(deadline_ms))
}

/// Runs a collaboration: decompose (the request's subtasks), assign, execute in parallel within the
/// deadline, synthesize.
pub async fn collaborate(
    balancer: &Arc<Balancer>,
    instances: &[ServiceInstance],
    request: CollaborateRequest,
) -> Result<CollaborationResult, CollaborationError> {
    let deadline = check(&request)?;
    let started = Instant::now();
    let mut missing = Vec::new();
    let mut assigned = Vec::new();
    for (index, subtask) in request.subtasks.iter().enumerate() {
        match assign(&subtask.capability, subtask.agent_type, instances) {
            Some(agent) => assigned.push((index, agent)),
            None => missing.push(SubtaskMissing {
                index,
                capability: subtask.capability.clone(),
                agent_type: subtask.agent_type.map(|agent| agent.to_string()),
                reason: format!("no running agent advertises `{}`", subtask.capability),
            }),
        }
    }
    let options = CallOptions { timeout: Some(deadline), ..CallOptions::default() };
    let empty = serde_json::json!({});
    let mut running: futures::stream::FuturesUnordered<_> = assigned
        .iter()
        .map(|(index, agent)| {
            let subtask = &request.subtasks[*index];
            let payload = subtask.payload.as_ref().unwrap_or(&empty);
            let options = &options;
            async move {
                let sent = Instant::now();
                let reply = balancer.send(*agent, &subtask.capability, payload, options, Strategy::LeastLoaded).await;
                (*index, *agent, reply, sent.elapsed())
            }
        })
        .collect();
    let mut results = Vec::new();
    let cutoff = tokio::time::sleep(deadline);
    tokio::pin!(cutoff);
    let mut answered = std::collections::HashSet::new();
    loop {
        tokio::select! {
            next = running.next() => {
                let Some((index, agent, reply, took)) = next else { break };
                answered.insert(index);
                let subtask = &request.subtasks[index];
                let failure = match reply {
                    Ok(reply) => match reply.as_error() {
                        None => {
                            results.push(SubtaskResult {
                                index,
                                capability: subtask.capability.clone(),
                                agent_id: reply.sender_id.clone(),
                                reply_type: reply.message_type.clone(),
                                payload: reply.payload.clone(),
                                elapsed_ms: took.as_millis() as u64,
                            });
                            None
                        }
                        Some(error) => Some(format!("answered with error {}: {}", error.code, error.error)),
                    },
                    Err(error) => Some(error.to_string()),
                };
                if let Some(reason) = failure {
                    missing.push(SubtaskMissing { index, capability: subtask.capability.clone(), agent_type: Some(agent.to_string()), reason });
                }
                if request.strategy == CoordinationStrategy::FirstGood && !results.is_empty() {
                    break;
                }
            }
            () = &mut cutoff => break,
        }
    }
    // What is still running is abandoned: dropped here, its reply is never read.
    drop(running);
    for (index, agent) in assigned {
        if !answered.contains(&index) {
            let reason = match request.strategy {
                CoordinationStrategy::FirstGood if !results.is_empty() => "not needed: another part answered first",
                _ => "no answer within the deadline",
            };
            missing.push(SubtaskMissing {
                index,
                capability: request.subtasks[index].capability.clone(),
                agent_type: Some(agent.to_string()),
                reason: reason.to_owned(),
            });
        }
    }
    Ok(synthesize(&request, results, missing, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mneme_protocol::orchestrator::Subtask;
    use mneme_protocol::{AgentCapability, ComponentId};

    fn instance(id: &str, capabilities: &[&str]) -> ServiceInstance {
        let id = ComponentId::parse(id).unwrap();
        ServiceInstance {
            kind: id.kind(),
            id,
            version: "0.1.0".to_owned(),
            description: String::new(),
            capabilities: capabilities.iter().map(|name| AgentCapability::new(name, "", &[], &[])).collect(),
        }
    }

    fn request(strategy: CoordinationStrategy, parts: usize) -> CollaborateRequest {
        CollaborateRequest {
            task: "t".to_owned(),
            subtasks: (0..parts)
                .map(|_| Subtask { capability: "validate_quality".to_owned(), payload: None, agent_type: None })
                .collect(),
            strategy,
            quorum: None,
            deadline_ms: None,
        }
    }

    fn answer(index: usize, payload: serde_json::Value) -> SubtaskResult {
        SubtaskResult {
            index,
            capability: "validate_quality".to_owned(),
            agent_id: "memory_harvester_00000000".to_owned(),
            reply_type: "quality_assessment".to_owned(),
            payload,
            elapsed_ms: 1,
        }
    }

    #[test]
    fn parts_go_to_the_type_that_advertises_the_capability_most() {
        let instances = [
            instance("memory_harvester_00000001", &["validate_quality"]),
            instance("memory_harvester_00000002", &["validate_quality"]),
            instance("pattern_analyzer_00000003", &["validate_quality", "analyze_sentiment"]),
        ];
        assert_eq!(assign("validate_quality", None, &instances), Some(AgentType::MemoryHarvester));
        assert_eq!(
            assign("validate_quality", Some(AgentType::PatternAnalyzer), &instances),
            Some(AgentType::PatternAnalyzer)
        );
        assert_eq!(assign("detect_pii", None, &instances), None);
    }

    #[test]
    fn strategies_synthesize_as_the_seed_describes() {
        let same = serde_json::json!({"score": 1});
        let other = serde_json::json!({"score": 0});
        let agreed = synthesize(
            &request(CoordinationStrategy::Consensus, 3),
            vec![answer(2, same.clone()), answer(0, same.clone()), answer(1, other.clone())],
            Vec::new(),
            Duration::ZERO,
        );
        assert!(agreed.complete);
        assert_eq!((agreed.outcome, agreed.agreed, agreed.quorum), (Some(same.clone()), Some(2), Some(2)));
        assert_eq!(agreed.results.iter().map(|result| result.index).collect::<Vec<_>>(), [0, 1, 2]);
        let split = synthesize(
            &CollaborateRequest { quorum: Some(3), ..request(CoordinationStrategy::Consensus, 3) },
            vec![answer(0, same.clone()), answer(1, other)],
            Vec::new(),
            Duration::ZERO,
        );
        assert!(!split.complete && split.outcome.is_none());
        let partial = synthesize(
            &request(CoordinationStrategy::Merge, 2),
            vec![answer(0, same.clone())],
            vec![SubtaskMissing { index: 1, capability: "x".to_owned(), agent_type: None, reason: "r".to_owned() }],
            Duration::ZERO,
        );
        assert!(!partial.complete && partial.missing.len() == 1);
        let first = synthesize(
            &request(CoordinationStrategy::FirstGood, 2),
            vec![answer(1, same.clone())],
            Vec::new(),
            Duration::ZERO,
        );
        assert!(first.complete && first.outcome == Some(same));
    }

    #[test]
    fn bad_requests_are_refused() {
        assert_eq!(check(&request(CoordinationStrategy::Merge, 0)), Err(CollaborationError::Subtasks(0)));
        let quorum = CollaborateRequest { quorum: Some(4), ..request(CoordinationStrategy::Consensus, 3) };
        assert_eq!(check(&quorum), Err(CollaborationError::Quorum { quorum: 4, subtasks: 3 }));
        let deadline = CollaborateRequest { deadline_ms: Some(0), ..request(CoordinationStrategy::Merge, 1) };
        assert_eq!(check(&deadline), Err(CollaborationError::Deadline));
    }
}
