//! Whether the calling thread has lately had to give up its core to other work: how the intake loop tells a
//! core it shares with busy processes from a core of its own.

use std::time::{Duration, Instant};

/// How long a preemption counts as lately.
const LATELY: Duration = Duration::from_millis(50);

/// The calling thread's involuntary context switches as last read, and when they last went up. Made and read
/// on one thread: the counts are that thread's own.
#[derive(Debug, Default)]
pub struct Preemptions {
    seen: i64,
    last_seen_at: Option<Instant>,
}

impl Preemptions {
    /// Whether the kernel took the core from this thread, while it could have gone on running, within the last
    /// 50 ms. One system call; where the kernel does not count a thread's switches, never.
    pub fn lately(&mut self) -> bool {
        involuntary_switches_of_this_thread().is_some_and(|switches| self.observe(switches, Instant::now()))
    }

    fn observe(&mut self, switches: i64, now: Instant) -> bool {
        if switches > self.seen {
            self.seen = switches;
            self.last_seen_at = Some(now);
        }
        self.last_seen_at.is_some_and(|at| now.duration_since(at) < LATELY)
    }
}

#[cfg(target_os = "linux")]
fn involuntary_switches_of_this_thread() -> Option<i64> {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_THREAD).ok().map(|usage| usage.involuntary_context_switches())
}

#[cfg(not(target_os = "linux"))]
fn involuntary_switches_of_this_thread() -> Option<i64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preemption_counts_for_50_ms() {
        let start = Instant::now();
        let mut preemptions = Preemptions::default();
        assert!(!preemptions.observe(0, start), "never preempted");
        assert!(preemptions.observe(3, start), "preempted just now");
        assert!(preemptions.observe(3, start + Duration::from_millis(49)));
        assert!(!preemptions.observe(3, start + LATELY), "not since");
        assert!(preemptions.observe(4, start + Duration::from_millis(80)), "preempted again");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn switches_are_read_on_linux() {
        assert!(involuntary_switches_of_this_thread().is_some_and(|count| count >= 0));
    }
}
