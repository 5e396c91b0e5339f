//! The jobs waiting for a worker thread of the [`super::pool::Pool`]: two
//! lanes in priority order, removal of a job whose caller left, and the
//! queue-time bound.
//!
//! A worker takes the oldest job of the first non-empty lane, so a
//! [`Class::Primary`] job never waits behind a [`Class::Secondary`] one.
//! Before taking it, the worker answers every job that has waited longer
//! than the queue timeout or as long (they are the oldest of their lane, at its front):
//! a caller that waited that long has most likely given up, and its place
//! is better given to someone still there.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Which lane a job waits in, and which share of the places it may hold
/// ([`super::pool::Pool::reserve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// May take every place; starts before any waiting secondary job.
    Primary,
    /// May hold at most the pool's secondary share of the places, and
    /// starts only when no primary job waits.
    Secondary,
}

impl Class {
    fn lane(self) -> usize {
        match self {
            Self::Primary => 0,
            Self::Secondary => 1,
        }
    }
}

/// How a worker hands a job over.
pub(super) enum Start {
    /// Run it now.
    Run,
    /// It waited longer than the queue timeout: answer without running.
    Expired,
}

/// A queued job. Returns whether it spent time on the worker (it ran),
/// as opposed to answering at once (expired, or nobody waits for it).
pub(super) type Job = Box<dyn FnOnce(Start) -> bool + Send>;

/// Where a pushed job waits, for taking it back ([`Queue::cancel`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket {
    class: Class,
    id: u64,
}

struct Entry {
    id: u64,
    enqueued: Instant,
    job: Job,
}

#[derive(Default)]
struct Waiting {
    /// Indexed by [`Class::lane`]; each lane is oldest first.
    lanes: [VecDeque<Entry>; 2],
    next_id: u64,
    /// Set when the pool is gone: workers drain the lanes and end.
    closed: bool,
}

/// What a worker does next ([`Queue::next`]).
pub(super) struct Batch {
    /// Jobs to answer with [`Start::Expired`].
    pub(super) expired: Vec<Job>,
    /// The job to run, if any is left once the expired ones are out.
    pub(super) run: Option<Job>,
}

/// The waiting jobs, shared by the pool and its worker threads.
pub(super) struct Queue {
    waiting: Mutex<Waiting>,
    ready: Condvar,
    timeout: Duration,
}

impl Queue {
    /// An empty queue whose jobs expire after waiting `timeout` for a busy worker.
    pub(super) fn new(timeout: Duration) -> Self {
        Self {
            waiting: Mutex::new(Waiting::default()),
            ready: Condvar::new(),
            timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        // Nothing panics while holding the lock; jobs run outside it.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `job` to its lane and wakes a worker; gives the job back if
    /// the queue is closed.
    pub(super) fn push(&self, class: Class, job: Job) -> Result<Ticket, Job> {
        let mut waiting = self.lock();
        if waiting.closed {
            return Err(job);
        }
        let id = waiting.next_id;
        waiting.next_id = id.wrapping_add(1);
        waiting.lanes[class.lane()].push_back(Entry {
            id,
            enqueued: Instant::now(),
            job,
        });
        drop(waiting);
        self.ready.notify_one();
        Ok(Ticket { class, id })
    }

    /// Takes a job back if no worker has taken it yet. The caller drops it
    /// (outside the lock: dropping a job releases its admission).
    pub(super) fn cancel(&self, ticket: Ticket) -> Option<Job> {
        let mut waiting = self.lock();
        let lane = &mut waiting.lanes[ticket.class.lane()];
        let index = lane.iter().position(|entry| entry.id == ticket.id)?;
        lane.remove(index).map(|entry| entry.job)
    }

    /// Blocks until there is work for the calling worker, or returns
    /// `None` once the queue is closed and empty.
    ///
    /// `free_since` is when this worker last finished a job (or started).
    /// Only a job queued before then waited for a busy worker; one queued
    /// later found this worker free, so it never expires, even with a zero
    /// timeout.
    pub(super) fn next(&self, free_since: Instant) -> Option<Batch> {
        let mut waiting = self.lock();
        loop {
            let now = Instant::now();
            let mut expired = Vec::new();
            for lane in &mut waiting.lanes {
                while lane.front().is_some_and(|entry| {
                    entry.enqueued < free_since
                        && now.saturating_duration_since(entry.enqueued) >= self.timeout
                }) {
                    expired.extend(lane.pop_front().map(|entry| entry.job));
                }
            }
            let run = waiting
                .lanes
                .iter_mut()
                .find_map(VecDeque::pop_front)
                .map(|entry| entry.job);
            if run.is_some() || !expired.is_empty() {
                return Some(Batch { expired, run });
            }
            if waiting.closed {
                return None;
            }
            waiting = self
                .ready
                .wait(waiting)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Jobs waiting in either lane.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.lock().lanes.iter().map(VecDeque::len).sum()
    }

    /// Ends the workers once the lanes are empty.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A job that appends `label` to `log` when run or expired.
    fn job(log: &Arc<Mutex<Vec<String>>>, label: &'static str) -> Job {
        let log = Arc::clone(log);
        Box::new(move |start| {
            let how = match start {
                Start::Run => "run",
                Start::Expired => "expired",
            };
            log.lock().unwrap().push(format!("{label} {how}"));
            true
        })
    }

    #[test]
    fn primary_jobs_start_before_older_secondary_ones() {
        let queue = Queue::new(Duration::from_secs(60));
        let log = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        for (class, label) in [
            (Class::Secondary, "s1"),
            (Class::Primary, "p1"),
            (Class::Secondary, "s2"),
            (Class::Primary, "p2"),
        ] {
            assert!(queue.push(class, job(&log, label)).is_ok());
        }
        while let Some(job) = queue.next(started).and_then(|batch| batch.run) {
            job(Start::Run);
            if log.lock().unwrap().len() == 4 {
                break;
            }
        }
        assert_eq!(
            *log.lock().unwrap(),
            ["p1 run", "p2 run", "s1 run", "s2 run"]
        );
    }

    #[test]
    fn jobs_that_waited_for_a_busy_worker_past_the_timeout_are_expired_not_run() {
        // Arrange: a zero timeout; the worker was last free before the pushes.
        let queue = Queue::new(Duration::ZERO);
        let log = Arc::new(Mutex::new(Vec::new()));
        let _ = queue.push(Class::Secondary, job(&log, "old"));
        let _ = queue.push(Class::Primary, job(&log, "older"));
        let freed = Instant::now() + Duration::from_millis(1);
        // Act: the worker frees up after both were queued.
        let batch = queue.next(freed).unwrap();
        // Assert
        assert!(batch.run.is_none());
        assert_eq!(batch.expired.len(), 2);
        for job in batch.expired {
            job(Start::Expired);
        }
        // A job pushed while the worker is free never expires.
        let free = Instant::now();
        let _ = queue.push(Class::Primary, job(&log, "fresh"));
        let batch = queue.next(free).unwrap();
        assert!(batch.expired.is_empty());
        (batch.run.unwrap())(Start::Run);
        assert_eq!(
            *log.lock().unwrap(),
            ["older expired", "old expired", "fresh run"]
        );
    }

    #[test]
    fn a_cancelled_job_is_handed_back_and_never_reaches_a_worker() {
        let queue = Queue::new(Duration::from_secs(60));
        let ran = Arc::new(AtomicUsize::new(0));
        let counting = |ran: &Arc<AtomicUsize>| -> Job {
            let ran = Arc::clone(ran);
            Box::new(move |_| {
                ran.fetch_add(1, Ordering::SeqCst);
                true
            })
        };
        let ticket = queue.push(Class::Secondary, counting(&ran)).ok().unwrap();
        let _ = queue.push(Class::Secondary, counting(&ran));
        assert!(queue.cancel(ticket).is_some());
        assert!(queue.cancel(ticket).is_none(), "only once");
        queue.close();
        let started = Instant::now();
        while let Some(batch) = queue.next(started) {
            if let Some(job) = batch.run {
                job(Start::Run);
            }
        }
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
