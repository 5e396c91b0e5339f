//! A fixed set of worker threads for expensive jobs, with bounded admission.
//!
//! Jobs are closures; the pool knows nothing of what they compute. It
//! guarantees:
//!
//! - at most `threads` jobs run at once, on threads of their own (never on
//!   an async worker, where a long job stalls every task of that worker), at
//!   a lower OS priority when asked,
//! - at most `threads + max_queued` jobs are admitted (running or waiting);
//!   [`Pool::reserve`] refuses at once beyond that, so memory and latency stay
//!   bounded under a flood,
//! - [`Class::Secondary`] jobs hold at most those places less one per
//!   thread (at least one), so a flood of them never refuses a
//!   [`Class::Primary`] job, and a
//!   waiting primary job starts before any waiting secondary one,
//! - a job whose caller went away while it waited is taken out of the queue
//!   at once (its place freed) and never run; a job that waited longer than
//!   the queue timeout for a busy worker is answered [`PoolError::TimedOut`]
//!   unrun,
//! - a panicking job fails alone: its thread lives on.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub(super) use super::queue::Class;
use super::queue::{Job, Queue, Start, Ticket};
use super::timings::{Timings, TimingsSnapshot};

/// Why the pool did not run a job to completion.
#[derive(Debug, thiserror::Error)]
pub(super) enum PoolError {
    /// Every place (running or waiting) open to the job's class is taken.
    #[error("every worker is busy and the queue is full")]
    Overloaded,
    /// The job waited longer than the queue timeout and was not run.
    #[error("the job waited too long for a worker")]
    TimedOut,
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

/// The bounded pool. Cheap to clone (shared state); the threads end when the
/// last clone and the last admitted job are gone.
#[derive(Clone)]
pub(super) struct Pool {
    state: Arc<State>,
}

struct State {
    /// Feeds the worker threads; closed (ending them) when the state is dropped.
    queue: Arc<Queue>,
    /// Jobs admitted at most at once: threads + max_queued.
    limit: usize,
    /// Secondary jobs admitted at most at once: `limit` less one place per
    /// worker thread, at least one. Those stay open to primary jobs whatever
    /// secondary ones do; a burst of secondary jobs that fits the queue is
    /// not refused (refusals retried at once would starve the niced workers).
    secondary_limit: usize,
    /// Jobs admitted (running + waiting), including unused reservations.
    admitted: AtomicUsize,
    /// The secondary ones among `admitted`.
    secondary_admitted: AtomicUsize,
    running: AtomicUsize,
    /// Jobs run to completion.
    completed: AtomicU64,
    /// Reservations refused with `Overloaded`.
    rejected: AtomicU64,
    /// Jobs answered `TimedOut` after waiting too long.
    timed_out: AtomicU64,
    /// Time per job.
    timings: Timings,
}

impl Drop for State {
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl Pool {
    /// Starts `threads` worker threads named `{name}-{index}` at nice value
    /// `nice` (best effort); `max_queued` more jobs may wait for them, each
    /// for at most `queue_timeout` once it waits for a busy worker.
    ///
    /// # Errors
    /// [`PoolError::Spawn`] if the OS refuses a thread.
    pub(super) fn start(
        name: &str,
        threads: NonZeroUsize,
        max_queued: usize,
        nice: i8,
        queue_timeout: Duration,
    ) -> Result<Self, PoolError> {
        let queue = Arc::new(Queue::new(queue_timeout));
        spawn_workers(name, threads.get(), nice, &queue).map_err(|error| {
            queue.close();
            PoolError::Spawn(error)
        })?;
        let limit = threads.get().saturating_add(max_queued);
        Ok(Self {
            state: Arc::new(State {
                queue,
                limit,
                // One place per worker stays open to primary jobs: with
                // priority, a login waits for at most the hashes already running.
                secondary_limit: limit.saturating_sub(threads.get()).max(1),
                admitted: AtomicUsize::new(0),
                secondary_admitted: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                completed: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                timed_out: AtomicU64::new(0),
                timings: Timings::default(),
            }),
        })
    }

    /// Takes one of the places open to `class` now, or refuses at once.
    ///
    /// # Errors
    /// [`PoolError::Overloaded`] when every such place is taken (counted in
    /// [`Pool::rejected`]).
    pub(super) fn reserve(&self, class: Class) -> Result<Reservation, PoolError> {
        let state = &self.state;
        // The class share first, then the total, each only ever raised
        // within its bound: a refused secondary job never makes the total
        // look full to a primary one, even for an instant.
        if class == Class::Secondary && !take(&state.secondary_admitted, state.secondary_limit) {
            state.rejected.fetch_add(1, Ordering::AcqRel);
            return Err(PoolError::Overloaded);
        }
        if !take(&state.admitted, state.limit) {
            if class == Class::Secondary {
                state.secondary_admitted.fetch_sub(1, Ordering::AcqRel);
            }
            state.rejected.fetch_add(1, Ordering::AcqRel);
            return Err(PoolError::Overloaded);
        }
        Ok(Reservation {
            admission: Admission {
                state: Arc::clone(state),
                class,
            },
        })
    }

    /// How many places jobs of `class` may hold at once.
    pub(super) fn places(&self, class: Class) -> usize {
        match class {
            Class::Primary => self.state.limit,
            Class::Secondary => self.state.secondary_limit,
        }
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

    /// Whether [`Pool::reserve`] would refuse a primary job right now.
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

    /// Jobs answered [`PoolError::TimedOut`] so far.
    pub(super) fn timed_out(&self) -> u64 {
        self.state.timed_out.load(Ordering::Acquire)
    }

    /// Durations of the jobs so far.
    pub(super) fn timings(&self) -> TimingsSnapshot {
        self.state.timings.snapshot()
    }
}

/// Raises `count` by one if it is below `limit`.
fn take(count: &AtomicUsize, limit: usize) -> bool {
    count
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        })
        .is_ok()
}

/// Releases an admitted place when the job ends or the reservation is dropped.
struct Admission {
    state: Arc<State>,
    class: Class,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if self.class == Class::Secondary {
            self.state.secondary_admitted.fetch_sub(1, Ordering::AcqRel);
        }
        self.state.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An admitted place, from [`Pool::reserve`]: the job it runs is never
/// refused for lack of room (only for waiting too long). Dropped unused, it
/// frees the place.
pub(super) struct Reservation {
    admission: Admission,
}

/// Takes a queued job back when the caller's future is dropped before a
/// worker took it, which frees its place at once.
struct Queued<'a> {
    queue: &'a Queue,
    ticket: Option<Ticket>,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            // Dropped here, outside the queue's lock: it releases the admission.
            drop(self.queue.cancel(ticket));
        }
    }
}

impl Reservation {
    /// Waits for a worker thread and runs `job` there. Once the job runs,
    /// the admission moves into it, so a caller that goes away mid-job still
    /// holds its place until the job ends: memory stays bounded. A caller
    /// that goes away while the job waits takes it out of the queue.
    ///
    /// # Errors
    /// [`PoolError::TimedOut`] if the job waited longer than the queue
    /// timeout; [`PoolError::Panicked`] if `job` panics;
    /// [`PoolError::Stopped`] if no thread is left to run it.
    pub(super) async fn run<T, F>(self, job: F) -> Result<T, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let Reservation { admission } = self;
        let class = admission.class;
        let pool = Arc::clone(&admission.state);
        let state = Arc::clone(&pool);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let work: Job = Box::new(move |start| {
            // The caller went away while queued (client disconnected, timed
            // out) and the worker took the job before the caller could take
            // it back: nobody wants the answer, so spend no CPU on it.
            if sender.is_closed() {
                return false;
            }
            if let Start::Expired = start {
                state.timed_out.fetch_add(1, Ordering::AcqRel);
                drop(admission);
                let _ = sender.send(Err(PoolError::TimedOut));
                return false;
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
            true
        });
        let ticket = pool
            .queue
            .push(class, work)
            .map_err(|_| PoolError::Stopped)?;
        let mut queued = Queued {
            queue: &pool.queue,
            ticket: Some(ticket),
        };
        let outcome = receiver.await;
        // A worker took the job: nothing left to take back.
        queued.ticket = None;
        outcome.map_err(|_| PoolError::Stopped)?
    }
}

/// Starts `count` threads at nice value `nice`, fed by `queue`. They end
/// when the queue is closed and empty.
fn spawn_workers(name: &str, count: usize, nice: i8, queue: &Arc<Queue>) -> std::io::Result<()> {
    // A worker is free from its creation: a job queued after the pool
    // started but before the thread got going did not wait behind anything.
    let started = Instant::now();
    for index in 0..count {
        let queue = Arc::clone(queue);
        std::thread::Builder::new()
            .name(format!("{name}-{index}"))
            .spawn(move || {
                lower_priority(nice);
                let mut free_since = started;
                while let Some(batch) = queue.next(free_since) {
                    for expired in batch.expired {
                        expired(Start::Expired);
                    }
                    if let Some(job) = batch.run
                        && job(Start::Run)
                    {
                        free_since = Instant::now();
                    }
                }
            })?;
    }
    Ok(())
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
    use std::future::Future as _;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Barrier, Mutex};

    use super::*;

    fn pool(threads: usize, max_queued: usize) -> Pool {
        Pool::start(
            "test",
            NonZeroUsize::new(threads).unwrap(),
            max_queued,
            0,
            Duration::from_secs(60),
        )
        .unwrap()
    }

    /// A job holding the pool's only worker until released.
    struct Blocker {
        gate: Arc<Barrier>,
        task: tokio::task::JoinHandle<Result<(), PoolError>>,
    }

    impl Blocker {
        async fn release(self) {
            self.gate.wait();
            self.task.await.unwrap().unwrap();
        }
    }

    /// Occupies the (one) worker thread with a job that waits for `release`.
    async fn hold_the_worker(pool: &Pool) -> Blocker {
        let gate = Arc::new(Barrier::new(2));
        let task = {
            let (pool, gate) = (pool.clone(), Arc::clone(&gate));
            tokio::spawn(async move {
                pool.reserve(Class::Primary)
                    .unwrap()
                    .run(move || {
                        gate.wait();
                    })
                    .await
            })
        };
        until(|| pool.running() == 1).await;
        Blocker { gate, task }
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
        let blocker = hold_the_worker(&pool).await;
        let queued = {
            let pool = pool.clone();
            tokio::spawn(
                async move { pool.reserve(Class::Primary).unwrap().run(|| "queued").await },
            )
        };
        until(|| pool.in_flight() == 2).await;
        assert_eq!(pool.queued(), 1);
        assert!(matches!(
            pool.reserve(Class::Primary),
            Err(PoolError::Overloaded)
        ));
        assert_eq!(pool.rejected(), 1);
        blocker.release().await;
        assert_eq!(queued.await.unwrap().unwrap(), "queued");
        assert_eq!(pool.in_flight(), 0);
        assert_eq!(
            pool.reserve(Class::Primary)
                .unwrap()
                .run(|| "after")
                .await
                .unwrap(),
            "after"
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn worker_threads_run_at_the_configured_nice_value() {
        let pool =
            Pool::start("hashing", NonZeroUsize::MIN, 0, 10, Duration::from_secs(60)).unwrap();
        let (name, nice) = pool
            .reserve(Class::Primary)
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
        let failed = pool
            .reserve(Class::Primary)
            .unwrap()
            .run(|| panic!("boom"))
            .await;
        assert!(matches!(failed, Err(PoolError::Panicked)));
        // The hasher reports it as a failure, with the pool's error as the cause.
        let reported = super::super::HashError::from(PoolError::Panicked);
        assert!(matches!(reported, super::super::HashError::Failed(_)));
        assert_eq!(
            pool.reserve(Class::Primary)
                .unwrap()
                .run(|| 2 + 2)
                .await
                .unwrap(),
            4
        );
        assert_eq!(pool.in_flight(), 0);
        let timings = pool.timings();
        assert_eq!(timings.count, 2);
        assert_eq!(timings.buckets.iter().map(|(_, n)| *n).sum::<u64>(), 2);
        assert_eq!(pool.completed(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_queued_job_whose_caller_went_away_is_not_run() {
        let pool = pool(1, 4);
        let blocker = hold_the_worker(&pool).await;
        let ran = Arc::new(AtomicBool::new(false));
        let abandoned = {
            let (pool, ran) = (pool.clone(), Arc::clone(&ran));
            tokio::spawn(async move {
                pool.reserve(Class::Primary)
                    .unwrap()
                    .run(move || ran.store(true, Ordering::SeqCst))
                    .await
            })
        };
        until(|| pool.in_flight() == 2).await;
        assert!(!pool.is_saturated());
        abandoned.abort();
        let _ = abandoned.await;
        blocker.release().await;
        // The next job runs after the abandoned one was dropped unrun.
        assert!(
            pool.reserve(Class::Primary)
                .unwrap()
                .run(|| ())
                .await
                .is_ok()
        );
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
            let reservation = pool.reserve(Class::Primary).unwrap();
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn secondary_jobs_leave_one_place_per_thread_and_never_refuse_primary_ones() {
        // Arrange: 2 threads + 3 waiting = 5 places, 3 of them for secondary jobs.
        let pool = pool(2, 3);
        assert_eq!(
            (pool.places(Class::Primary), pool.places(Class::Secondary)),
            (5, 3)
        );
        // Act: a secondary flood.
        let secondary: Vec<_> = (0..3)
            .map(|_| pool.reserve(Class::Secondary).unwrap())
            .collect();
        // Assert: the flood is capped, and primary jobs get every other place.
        assert!(matches!(
            pool.reserve(Class::Secondary),
            Err(PoolError::Overloaded)
        ));
        let primary: Vec<_> = (0..2)
            .map(|_| pool.reserve(Class::Primary).unwrap())
            .collect();
        assert!(matches!(
            pool.reserve(Class::Primary),
            Err(PoolError::Overloaded)
        ));
        assert_eq!(pool.rejected(), 2);
        drop(primary);
        drop(secondary);
        assert_eq!(pool.in_flight(), 0);
        assert_eq!(pool.state.secondary_admitted.load(Ordering::Acquire), 0);
        // One place in all: the secondary share is still one.
        assert_eq!(pool_of_one().places(Class::Secondary), 1);
    }

    fn pool_of_one() -> Pool {
        pool(1, 0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_primary_job_starts_before_an_older_waiting_secondary_one() {
        // Arrange: the only thread is held; a secondary job queues, then a primary one.
        let pool = pool(1, 4);
        let blocker = hold_the_worker(&pool).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (class, label) in [(Class::Secondary, "secondary"), (Class::Primary, "primary")] {
            let (handle, order) = (pool.clone(), Arc::clone(&order));
            let queued = pool.state.queue.waiting();
            tasks.push(tokio::spawn(async move {
                let reservation = handle.reserve(class).unwrap();
                reservation
                    .run(move || order.lock().unwrap().push(label))
                    .await
            }));
            until(|| pool.state.queue.waiting() == queued + 1).await;
        }
        // Act
        blocker.release().await;
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        // Assert
        assert_eq!(*order.lock().unwrap(), ["primary", "secondary"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_future_of_a_queued_job_frees_its_place_and_the_job_never_runs() {
        // Arrange: the only thread is held, the one queue place is taken by a job.
        let pool = pool(1, 1);
        let blocker = hold_the_worker(&pool).await;
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = {
            let runs = Arc::clone(&runs);
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
            }
        };
        let mut waiting = Box::pin(pool.reserve(Class::Primary).unwrap().run(counted));
        std::future::poll_fn(|cx| {
            assert!(waiting.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        })
        .await;
        assert_eq!(pool.state.queue.waiting(), 1);
        assert!(pool.is_saturated());
        // Act: the caller goes away (a client disconnecting drops the handler's future).
        drop(waiting);
        // Assert: the place is free at once, while the thread is still busy.
        assert_eq!(pool.state.queue.waiting(), 0);
        assert_eq!(pool.in_flight(), 1);
        let next = pool.reserve(Class::Primary).unwrap();
        blocker.release().await;
        next.run(|| ()).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 0, "the dropped job never ran");
        assert_eq!(pool.completed(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_waited_past_the_queue_timeout_is_refused_unrun() {
        // Arrange: a zero timeout: no job may wait behind a busy thread.
        let pool = Pool::start("test", NonZeroUsize::MIN, 4, 0, Duration::ZERO).unwrap();
        let blocker = hold_the_worker(&pool).await;
        let runs = Arc::new(AtomicUsize::new(0));
        let late = {
            let (pool, runs) = (pool.clone(), Arc::clone(&runs));
            tokio::spawn(async move {
                let reservation = pool.reserve(Class::Secondary).unwrap();
                reservation
                    .run(move || runs.fetch_add(1, Ordering::SeqCst))
                    .await
            })
        };
        until(|| pool.state.queue.waiting() == 1).await;
        // Act: the thread frees up after the late job waited.
        blocker.release().await;
        let outcome = late.await.unwrap();
        // Assert
        assert!(matches!(outcome, Err(PoolError::TimedOut)), "{outcome:?}");
        assert_eq!(runs.load(Ordering::SeqCst), 0, "the late job never ran");
        assert_eq!(pool.timed_out(), 1);
        assert_eq!(pool.in_flight(), 0);
        assert!(matches!(
            super::super::HashError::from(PoolError::TimedOut),
            super::super::HashError::Overloaded
        ));
        // A job that finds the thread free runs, zero timeout or not.
        assert_eq!(
            pool.reserve(Class::Primary)
                .unwrap()
                .run(|| 7)
                .await
                .unwrap(),
            7
        );
        assert_eq!(pool.completed(), 2);
    }
}
