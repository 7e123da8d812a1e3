//! Batch recovery against a scripted Beds24: how many requests isolating a bad booking costs.

use std::collections::BTreeSet;
use std::future::Future;

use super::*;
use crate::Action;

/// Answers a request with a 5xx when it holds a poisoned id (or always, in an outage).
struct Scripted {
    poisoned: BTreeSet<String>,
    outage: bool,
    requests: usize,
    synced: Vec<String>,
    failed: Vec<String>,
}

impl Scripted {
    fn new(poisoned: &[u64], outage: bool) -> Self {
        Scripted {
            poisoned: poisoned.iter().map(u64::to_string).collect(),
            outage,
            requests: 0,
            synced: Vec::new(),
            failed: Vec::new(),
        }
    }
}

impl BatchAttempt for Scripted {
    async fn attempt(&mut self, jobs: &[ClaimedJob]) -> Result<(), ApiFailure> {
        self.requests += 1;
        let poisoned = jobs
            .iter()
            .any(|j| self.poisoned.contains(j.booking_id.as_str()));
        if self.outage || poisoned {
            return Err(ApiFailure::Transient("HTTP 500".into()));
        }
        self.synced
            .extend(jobs.iter().map(|j| j.booking_id.to_string()));
        Ok(())
    }

    fn fail(&mut self, jobs: &[ClaimedJob], _failure: ApiFailure) {
        self.failed
            .extend(jobs.iter().map(|j| j.booking_id.to_string()));
    }
}

fn jobs(n: u64) -> Vec<ClaimedJob> {
    (1..=n)
        .map(|id| ClaimedJob {
            booking_id: BookingId::parse(&id.to_string()).unwrap(),
            claim: "1".into(),
            attempts: 0,
            action: Action::Modify,
        })
        .collect()
}

/// Drive the async recovery to the end (the scripted worker never waits).
fn run(worker: &mut Scripted, batch: &[ClaimedJob]) {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(sync_batch(worker, batch));
    assert!(future.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn one_bad_booking_costs_about_two_log2_n_requests_wherever_it_sits() {
    for position in [1, 2, 17, 25, 26, 49, 50] {
        let mut worker = Scripted::new(&[position], false);
        run(&mut worker, &jobs(50));
        assert_eq!(worker.failed, vec![position.to_string()]);
        assert_eq!(worker.synced.len(), 49, "position {position}");
        // 1 for the batch, then 2 per halving: ⌈log₂ 50⌉ = 6 levels.
        assert!(
            worker.requests <= 1 + 2 * 6,
            "position {position}: {} requests",
            worker.requests
        );
    }
}

#[test]
fn a_general_outage_costs_three_requests_and_fails_everyone_once() {
    let mut worker = Scripted::new(&[], true);
    run(&mut worker, &jobs(50));
    assert_eq!(worker.requests, 3);
    assert_eq!(worker.failed.len(), 50);
    assert_eq!(
        worker.failed.iter().collect::<BTreeSet<_>>().len(),
        50,
        "each job settled once"
    );
    assert!(worker.synced.is_empty());
}

#[test]
fn every_job_is_settled_exactly_once_with_several_bad_bookings() {
    let mut worker = Scripted::new(&[3, 4, 40], false);
    run(&mut worker, &jobs(50));
    let mut all: Vec<String> = worker
        .synced
        .iter()
        .chain(&worker.failed)
        .cloned()
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 50);
    assert_eq!(worker.synced.len() + worker.failed.len(), 50);
    for bad in ["3", "4", "40"] {
        assert!(worker.failed.contains(&bad.to_string()), "{bad}");
    }
}
