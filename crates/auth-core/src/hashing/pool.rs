//! A fixed set of worker threads for expensive jobs, with bounded admission.
//!
//! Jobs are closures; the pool knows nothing of what they compute. It
//! guarantees three things:
//!
//! - at most `threads` jobs run at once, on threads of their own (never on
//!   an async worker, where a long job stalls every task of that worker), at
//!   a lower OS priority when asked,
//! - at most `threads + max_queued` jobs are admitted (running or waiting);
//!   [`Pool::reserve`] refuses at once beyond that, so memory and latency stay
//!   bounded under a flood,
//! - a job whose caller went away while it waited is dropped unrun, and a
//!   panicking job fails alone: its thread lives on.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Instant;

use super::timings::{Timings, TimingsSnapshot};

/// Why the pool did not run a job to completion.
#[derive(Debug, thiserror::Error)]
pub(super) enum PoolError {
    /// Every place (running or waiting) is taken.
    #[error("every worker is busy and the queue is full")]
    Overloaded,
    /// The job panicked; its thread survived.
    #[error("the job panicked")]
    Panicked,
    /// The job was dropped unrun: the worker threads are gone.
    #[error("the worker threads are gone")]
    Stopped,
    /// The OS refused to start a worker thread.
    #[error("cannot start a worker thread")]
    Spawn(#[source] std::io::Error),
}

/// A job for a worker thread.
type Job = Box<dyn FnOnce() + Send>;

/// The bounded pool. Cheap to clone (shared state); the threads end when the
/// last clone and the last admitted job are gone.
#[derive(Clone)]
pub(super) struct Pool {
    state: Arc<State>,
}

struct State {
    /// Feeds the worker threads; dropping it ends them.
    jobs: mpsc::Sender<Job>,
    /// Jobs admitted at most at once: threads + max_queued.
    limit: usize,
    /// Jobs admitted (running + waiting), including unused reservations.
    admitted: AtomicUsize,
    running: AtomicUsize,
    /// Jobs run to completion.
    completed: AtomicU64,
    /// Reservations refused with `Overloaded`.
    rejected: AtomicU64,
    /// Time per job.
    timings: Timings,
}

impl Pool {
    /// Starts `threads` worker threads named `{name}-{index}` at nice value
    /// `nice` (best effort); `max_queued` more jobs may wait for them.
    ///
    /// # Errors
    /// [`PoolError::Spawn`] if the OS refuses a thread.
    pub(super) fn start(
        name: &str,
        threads: NonZeroUsize,
        max_queued: usize,
        nice: i8,
    ) -> Result<Self, PoolError> {
        let jobs = spawn_workers(name, threads.get(), nice).map_err(PoolError::Spawn)?;
        Ok(Self {
            state: Arc::new(State {
                jobs,
                limit: threads.get().saturating_add(max_queued),
                admitted: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                completed: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                timings: Timings::default(),
            }),
        })
    }

    /// Takes one of the admitted places now, or refuses at once.
    ///
    /// # Errors
    /// [`PoolError::Overloaded`] when every place is taken (counted in
    /// [`Pool::rejected`]).
    pub(super) fn reserve(&self) -> Result<Reservation, PoolError> {
        let state = &self.state;
        if state.admitted.fetch_add(1, Ordering::AcqRel) >= state.limit {
            state.admitted.fetch_sub(1, Ordering::AcqRel);
            state.rejected.fetch_add(1, Ordering::AcqRel);
            return Err(PoolError::Overloaded);
        }
        Ok(Reservation {
            admission: Admission(Arc::clone(state)),
        })
    }

    /// Jobs holding or waiting for a thread, unused reservations included.
    pub(super) fn in_flight(&self) -> usize {
        self.state.admitted.load(Ordering::Acquire)
    }

    /// Jobs running on a thread right now.
    pub(super) fn running(&self) -> usize {
        self.state.running.load(Ordering::Acquire)
    }

    /// Admitted jobs not running (the queue depth).
    pub(super) fn queued(&self) -> usize {
        self.in_flight().saturating_sub(self.running())
    }

    /// Whether [`Pool::reserve`] would refuse right now.
    pub(super) fn is_saturated(&self) -> bool {
        self.in_flight() >= self.state.limit
    }

    /// Jobs run to completion so far (panicked ones included).
    pub(super) fn completed(&self) -> u64 {
        self.state.completed.load(Ordering::Acquire)
    }

    /// Reservations refused so far.
    pub(super) fn rejected(&self) -> u64 {
        self.state.rejected.load(Ordering::Acquire)
    }

    /// Durations of the jobs so far.
    pub(super) fn timings(&self) -> TimingsSnapshot {
        self.state.timings.snapshot()
    }
}

/// Releases an admitted place when the job ends or the reservation is dropped.
struct Admission(Arc<State>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An admitted place, from [`Pool::reserve`]: the job it runs is never
/// refused. Dropped unused, it frees the place.
pub(super) struct Reservation {
    admission: Admission,
}

impl Reservation {
    /// Waits for a worker thread and runs `job` there. The admission moves
    /// into the job, so a caller that goes away mid-job still holds its
    /// place until the job ends: memory stays bounded.
    ///
    /// # Errors
    /// [`PoolError::Panicked`] if `job` panics; [`PoolError::Stopped`] if no
    /// thread is left to run it.
    pub(super) async fn run<T, F>(self, job: F) -> Result<T, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let Reservation { admission } = self;
        let pool = Arc::clone(&admission.0);
        let state = Arc::clone(&pool);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let work: Job = Box::new(move || {
            // The caller went away while queued (client disconnected, timed
            // out): nobody wants the answer, so spend no CPU on it.
            if sender.is_closed() {
                return;
            }
            state.running.fetch_add(1, Ordering::AcqRel);
            let started = Instant::now();
            // A panicking job must not take its worker thread with it.
            let output = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                .map_err(|_| PoolError::Panicked);
            state.timings.record(started.elapsed());
            state.running.fetch_sub(1, Ordering::AcqRel);
            state.completed.fetch_add(1, Ordering::AcqRel);
            drop(admission);
            let _ = sender.send(output);
        });
        pool.jobs.send(work).map_err(|_| PoolError::Stopped)?;
        receiver.await.map_err(|_| PoolError::Stopped)?
    }
}

/// Starts `count` threads at nice value `nice`, fed by one channel. They end
/// when the sender is dropped.
fn spawn_workers(name: &str, count: usize, nice: i8) -> std::io::Result<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for index in 0..count {
        let receiver = Arc::clone(&receiver);
        std::thread::Builder::new()
            .name(format!("{name}-{index}"))
            .spawn(move || {
                lower_priority(nice);
                loop {
                    // The lock is held only while waiting for the next job.
                    let next = receiver
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })?;
    }
    Ok(sender)
}

/// Best effort: a process not allowed to change priorities still runs its
/// jobs, just without the preemption benefit.
fn lower_priority(nice: i8) {
    #[cfg(unix)]
    if nice != 0 {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        use thread_priority::{ThreadPriority, ThreadPriorityValue};
        // The crate maps 0..=99 linearly onto nice 20..=-20.
        let level = (99.0 * (1.0 - (f64::from(nice) + 20.0) / 40.0))
            .round()
            .clamp(0.0, 99.0) as u8;
        if let Ok(value) = ThreadPriorityValue::try_from(level) {
            let _ = set_thread_priority_and_policy(
                thread_native_id(),
                ThreadPriority::Crossplatform(value),
                ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
            );
        }
    }
    #[cfg(not(unix))]
    let _ = nice;
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::sync::atomic::AtomicBool;

    use super::*;

    fn pool(threads: usize, max_queued: usize) -> Pool {
        Pool::start("test", NonZeroUsize::new(threads).unwrap(), max_queued, 0).unwrap()
    }

    /// Waits (yielding) until `done` holds.
    async fn until(done: impl Fn() -> bool) {
        while !done() {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_answers_overloaded_and_frees_slots_afterwards() {
        // One thread, one queue place: the third concurrent job is refused.
        let pool = pool(1, 1);
        let gate = Arc::new(Barrier::new(2));
        let blocker = {
            let (pool, gate) = (pool.clone(), Arc::clone(&gate));
            tokio::spawn(async move { pool.reserve().unwrap().run(move || gate.wait()).await })
        };
        until(|| pool.running() == 1).await;
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.reserve().unwrap().run(|| "queued").await })
        };
        until(|| pool.in_flight() == 2).await;
        assert_eq!(pool.queued(), 1);
        assert!(matches!(pool.reserve(), Err(PoolError::Overloaded)));
        assert_eq!(pool.rejected(), 1);
        gate.wait();
        blocker.await.unwrap().unwrap();
        assert_eq!(queued.await.unwrap().unwrap(), "queued");
        assert_eq!(pool.in_flight(), 0);
        assert_eq!(
            pool.reserve().unwrap().run(|| "after").await.unwrap(),
            "after"
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn worker_threads_run_at_the_configured_nice_value() {
        let pool = Pool::start("hashing", NonZeroUsize::MIN, 0, 10).unwrap();
        let (name, nice) = pool
            .reserve()
            .unwrap()
            .run(|| {
                let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
                // Fields after the ")" that closes the name: state is field 3, nice is 19.
                let (_, rest) = stat.rsplit_once(')').unwrap();
                let nice: i64 = rest.split_whitespace().nth(16).unwrap().parse().unwrap();
                (std::thread::current().name().map(str::to_owned), nice)
            })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("hashing-0"));
        assert!((9..=10).contains(&nice), "nice {nice}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_fails_cleanly_and_the_thread_survives() {
        let pool = pool(1, 0);
        let failed = pool.reserve().unwrap().run(|| panic!("boom")).await;
        assert!(matches!(failed, Err(PoolError::Panicked)));
        // The hasher reports it as a failure, with the pool's error as the cause.
        let reported = super::super::HashError::from(PoolError::Panicked);
        assert!(matches!(reported, super::super::HashError::Failed(_)));
        assert_eq!(pool.reserve().unwrap().run(|| 2 + 2).await.unwrap(), 4);
        assert_eq!(pool.in_flight(), 0);
        let timings = pool.timings();
        assert_eq!(timings.count, 2);
        assert_eq!(timings.buckets.iter().map(|(_, n)| *n).sum::<u64>(), 2);
        assert_eq!(pool.completed(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_queued_job_whose_caller_went_away_is_not_run() {
        let pool = pool(1, 4);
        let gate = Arc::new(Barrier::new(2));
        let blocker = {
            let (pool, gate) = (pool.clone(), Arc::clone(&gate));
            tokio::spawn(async move { pool.reserve().unwrap().run(move || gate.wait()).await })
        };
        until(|| pool.running() == 1).await;
        let ran = Arc::new(AtomicBool::new(false));
        let abandoned = {
            let (pool, ran) = (pool.clone(), Arc::clone(&ran));
            tokio::spawn(async move {
                pool.reserve()
                    .unwrap()
                    .run(move || ran.store(true, Ordering::SeqCst))
                    .await
            })
        };
        until(|| pool.in_flight() == 2).await;
        assert!(!pool.is_saturated());
        abandoned.abort();
        let _ = abandoned.await;
        gate.wait();
        blocker.await.unwrap().unwrap();
        // The next job runs after the abandoned one was dropped unrun.
        assert!(pool.reserve().unwrap().run(|| ()).await.is_ok());
        assert!(!ran.load(Ordering::SeqCst), "the abandoned job never ran");
        assert_eq!(pool.in_flight(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_jobs_run_at_once_than_permits() {
        // Arrange: 40 admitted jobs for 2 threads; each job counts itself
        // while it runs, so the count is of jobs, not of threads.
        let permits = 2;
        let pool = pool(permits, 100);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        // Act
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let reservation = pool.reserve().unwrap();
            let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
            tasks.push(tokio::spawn(reservation.run(move || {
                let now = running.fetch_add(1, Ordering::AcqRel) + 1;
                peak.fetch_max(now, Ordering::AcqRel);
                std::thread::sleep(std::time::Duration::from_millis(1));
                running.fetch_sub(1, Ordering::AcqRel);
            })));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        // Assert
        let peak = peak.load(Ordering::Acquire);
        assert!((1..=permits).contains(&peak), "peak {peak}");
        assert_eq!(pool.completed(), 40);
    }
}
