//! An instance's cumulative counters at one look, and what they grew by since an earlier look: the window
//! the health monitor judges, the performance report sums, the autoscaler measures and `mneme top` shows.
//! Counters run from the instance's start, so a look with another `started_at` (or fewer requests) means it
//! restarted in between, and what it did is then everything since its start.

use mneme_protocol::AgentStats;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    started_at: f64,
    processed: u64,
    /// Requests the instance failed (5xx); its refusals of what clients sent are no mark against it.
    failures: u64,
    /// Seconds spent on all requests so far.
    busy: f64,
}

/// Requests answered, failed, and the seconds spent on them, between two looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Growth {
    pub requests: u64,
    /// Of those, the ones the instance failed (5xx).
    pub failures: u64,
    pub busy: f64,
    /// The instance restarted since the earlier look: the growth is everything since its start.
    pub restarted: bool,
}

impl Growth {
    /// Mean seconds per request; none without requests.
    pub fn mean(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.busy / self.requests as f64)
    }
}

impl Reading {
    pub fn of(stats: &AgentStats) -> Self {
        Reading {
            started_at: stats.started_at,
            processed: stats.messages_processed,
            failures: stats.failures_count,
            busy: stats.avg_processing_time * stats.messages_processed as f64,
        }
    }

    /// What grew since `before`; everything since the instance started when there is no earlier look or it
    /// restarted since.
    pub fn since(&self, before: Option<&Reading>) -> Growth {
        match before {
            Some(before) if before.started_at == self.started_at && before.processed <= self.processed => Growth {
                requests: self.processed - before.processed,
                failures: self.failures.saturating_sub(before.failures),
                busy: (self.busy - before.busy).max(0.0),
                restarted: false,
            },
            _ => Growth {
                requests: self.processed,
                failures: self.failures,
                busy: self.busy.max(0.0),
                restarted: before.is_some(),
            },
        }
    }
}
