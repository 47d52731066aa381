//! Bounds how many requests an instance handles at once; those that wait are admitted highest `priority`
//! first, then in arrival order. The bound can change while requests are in flight (adaptation).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

#[derive(Debug)]
pub struct AdmissionGate {
    state: Mutex<GateState>,
}

#[derive(Debug)]
struct GateState {
    capacity: usize,
    free: usize,
    /// Slots in use beyond a capacity that was lowered under them: released ones are retired, not freed.
    excess: usize,
    waiting: BinaryHeap<Waiter>,
    arrivals: u64,
}

#[derive(Debug)]
struct Waiter {
    priority: i32,
    arrival: u64,
    wake: oneshot::Sender<Permit>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Waiter {}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiter {
    /// The heap pops the greatest: higher priority, then earlier arrival.
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority.cmp(&other.priority).then_with(|| other.arrival.cmp(&self.arrival))
    }
}

/// A slot in the gate, returned when dropped.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<AdmissionGate>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gate.release();
    }
}

impl AdmissionGate {
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(AdmissionGate {
            state: Mutex::new(GateState {
                capacity,
                free: capacity,
                excess: 0,
                waiting: BinaryHeap::new(),
                arrivals: 0,
            }),
        })
    }

    pub fn capacity(&self) -> usize {
        self.state.lock().expect("gate lock is never poisoned").capacity
    }

    /// Slots taken right now.
    pub fn in_use(&self) -> usize {
        let state = self.state.lock().expect("gate lock is never poisoned");
        state.capacity + state.excess - state.free
    }

    /// Changes the number of slots. A raise admits waiters at once; a cut takes free slots first and retires
    /// the rest as the requests holding them finish.
    pub fn set_capacity(self: &Arc<Self>, capacity: usize) {
        let capacity = capacity.max(1);
        let added = {
            let mut state = self.state.lock().expect("gate lock is never poisoned");
            let before = state.capacity;
            state.capacity = capacity;
            if capacity < before {
                let cut = before - capacity;
                let from_free = cut.min(state.free);
                state.free -= from_free;
                state.excess += cut - from_free;
                return;
            }
            let mut added = capacity - before;
            let from_excess = added.min(state.excess);
            state.excess -= from_excess;
            added -= from_excess;
            added
        };
        for _ in 0..added {
            self.release();
        }
    }

    /// Waits for a slot.
    pub async fn acquire(self: &Arc<Self>, priority: i32) -> Permit {
        let wake = {
            let mut state = self.state.lock().expect("gate lock is never poisoned");
            if state.free > 0 {
                state.free -= 1;
                return Permit { gate: Arc::clone(self) };
            }
            let (wake, woken) = oneshot::channel();
            state.arrivals += 1;
            let arrival = state.arrivals;
            state.waiting.push(Waiter { priority, arrival, wake });
            woken
        };
        // The sender lives in the heap until a permit is handed over, so this only fails if the gate is gone,
        // and the gate outlives every waiter through the Arc held here.
        wake.await.expect("the gate hands every waiter a permit")
    }

    fn release(self: &Arc<Self>) {
        let mut state = self.state.lock().expect("gate lock is never poisoned");
        if state.excess > 0 {
            state.excess -= 1;
            return;
        }
        while let Some(waiter) = state.waiting.pop() {
            // A waiter that gave up drops the permit it is sent, which comes back here: no slot is lost.
            match waiter.wake.send(Permit { gate: Arc::clone(self) }) {
                Ok(()) => return,
                Err(permit) => std::mem::forget(permit),
            }
        }
        state.free += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn never_admits_more_than_its_capacity() {
        let gate = AdmissionGate::new(2);
        let first = gate.acquire(0).await;
        let _second = gate.acquire(0).await;
        assert_eq!(gate.in_use(), 2);
        let third = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.acquire(0).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!third.is_finished());
        drop(first);
        let _third = third.await.unwrap();
        assert_eq!(gate.in_use(), 2);
    }

    #[tokio::test]
    async fn waiters_are_admitted_by_priority_then_arrival() {
        let gate = AdmissionGate::new(1);
        let holder = gate.acquire(0).await;
        let (order_tx, mut order_rx) = tokio::sync::mpsc::unbounded_channel();
        for (name, priority) in [("low", 0), ("high", 5), ("low-later", 0), ("highest", 9)] {
            let gate = Arc::clone(&gate);
            let order_tx = order_tx.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire(priority).await;
                order_tx.send(name).unwrap();
            });
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(holder);
        let mut order = Vec::new();
        for _ in 0..4 {
            order.push(order_rx.recv().await.unwrap());
        }
        assert_eq!(order, ["highest", "high", "low", "low-later"]);
    }

    #[tokio::test]
    async fn the_capacity_changes_under_requests_in_flight() {
        let gate = AdmissionGate::new(2);
        let first = gate.acquire(0).await;
        let second = gate.acquire(0).await;
        gate.set_capacity(1);
        assert_eq!((gate.capacity(), gate.in_use()), (1, 2));
        drop(first);
        assert_eq!(gate.in_use(), 1, "the released slot is retired");
        let waiting = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.acquire(0).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        gate.set_capacity(3);
        let _third = waiting.await.unwrap();
        assert_eq!((gate.capacity(), gate.in_use()), (3, 2));
        drop(second);
        assert_eq!(gate.in_use(), 1);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_loses_no_slot() {
        let gate = AdmissionGate::new(1);
        let holder = gate.acquire(0).await;
        let abandoned = tokio::time::timeout(Duration::from_millis(10), gate.acquire(0)).await;
        assert!(abandoned.is_err());
        drop(holder);
        assert_eq!(gate.in_use(), 0);
        let _again = gate.acquire(0).await;
        assert_eq!(gate.in_use(), 1);
    }
}
