//! A small worker pool whose results come back in the order the work went in.
//!
//! `pack` and `push-sessions` read sessions one at a time on the calling thread (the store is
//! one SQLite read transaction, which cannot be shared) and hand the CPU work on each session
//! (serialising, hashing, compressing) to workers. Their output must not depend on how many
//! threads ran, so results are delivered strictly in submission order. Memory stays bounded
//! however large the store: two jobs per worker are always allowed in flight, more (up to
//! [`JOBS_PER_WORKER`]) while their inputs total less than [`MAX_IN_FLIGHT_BYTES`].

use std::collections::{BTreeMap, VecDeque};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Mutex;

/// The environment variable that sets the number of worker threads (`1`: no workers, all the
/// work on the calling thread). Unset or invalid: the machine's available parallelism.
pub const THREADS_ENV: &str = "GIT_OPENCODE_THREADS";

/// The worker count: [`THREADS_ENV`] when it is a positive number, else the cores available.
pub fn threads() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Jobs in flight per worker at most. Many small jobs in flight keep the workers busy while
/// the oldest one, whose result must go out first, is still being worked on.
pub const JOBS_PER_WORKER: usize = 16;

/// Past two jobs per worker, more are submitted only while the inputs in flight total less
/// than this (as the caller sizes them, see [`Pool::push`]).
pub const MAX_IN_FLIGHT_BYTES: u64 = 32 << 20;

type Outcome<O> = std::thread::Result<O>;

/// Jobs submitted by the calling thread and results handed back to it, in order.
pub struct Pool<'w, I, O> {
    /// With one thread: the work, run inline in [`Pool::push`]; `None` when workers run it.
    inline: Option<&'w mut dyn FnMut(I) -> O>,
    jobs: Option<SyncSender<(u64, I)>>,
    results: Option<Receiver<(u64, Outcome<O>)>>,
    submitted: u64,
    delivered: u64,
    /// Results that arrived before an earlier one.
    early: BTreeMap<u64, Outcome<O>>,
    /// The sizes of the jobs in flight, oldest first, and their total.
    sizes: VecDeque<u64>,
    bytes: u64,
    /// Jobs in flight whatever their size, and at most.
    always: u64,
    limit: u64,
}

/// Runs `body` with a pool of `threads` workers that apply `work` to what `body` pushes.
/// Workers stop when `body` returns; a panic in `work` is raised again on this thread.
pub fn with_pool<I: Send, O: Send, R>(
    threads: usize,
    work: impl Fn(I) -> O + Sync,
    body: impl FnOnce(&mut Pool<'_, I, O>) -> R,
) -> R {
    with_pool_state(threads, || (), |_, input| work(input), body)
}

/// [`with_pool`] where each worker first makes its own state with `init` (a handle that
/// cannot be shared between threads, say) and `work` gets it with every job.
pub fn with_pool_state<S, I: Send, O: Send, R>(
    threads: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, I) -> O + Sync,
    body: impl FnOnce(&mut Pool<'_, I, O>) -> R,
) -> R {
    let threads = threads.max(1);
    if threads == 1 {
        let mut state = init();
        let mut inline = |input: I| work(&mut state, input);
        let mut pool = Pool::new(Some(&mut inline), None, None, (1, 1));
        return body(&mut pool);
    }
    // Two jobs per worker always (one running, one queued while the caller reads the next).
    let limits = (2 * threads, JOBS_PER_WORKER * threads);
    let (job_tx, job_rx) = sync_channel::<(u64, I)>(limits.1);
    let (result_tx, result_rx) = channel::<(u64, Outcome<O>)>();
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (job_rx, result_tx, init, work) = (&job_rx, result_tx.clone(), &init, &work);
            scope.spawn(move || {
                let mut state = init();
                worker(job_rx, result_tx, |input| work(&mut state, input));
            });
        }
        drop(result_tx);
        let mut pool = Pool::new(None, Some(job_tx), Some(result_rx), limits);
        let out = body(&mut pool);
        // Dropping the pool closes the job channel: the workers finish and the scope joins.
        drop(pool);
        out
    })
}

fn worker<I, O>(
    jobs: &Mutex<Receiver<(u64, I)>>,
    results: Sender<(u64, Outcome<O>)>,
    mut work: impl FnMut(I) -> O,
) {
    loop {
        // The lock is held only to take one job, never while working.
        let job = jobs.lock().map(|rx| rx.recv());
        let Ok(Ok((index, input))) = job else { return };
        let outcome = catch_unwind(AssertUnwindSafe(|| work(input)));
        if results.send((index, outcome)).is_err() {
            return;
        }
    }
}

impl<'w, I, O> Pool<'w, I, O> {
    fn new(
        inline: Option<&'w mut dyn FnMut(I) -> O>,
        jobs: Option<SyncSender<(u64, I)>>,
        results: Option<Receiver<(u64, Outcome<O>)>>,
        (always, limit): (usize, usize),
    ) -> Self {
        Pool {
            inline,
            jobs,
            results,
            submitted: 0,
            delivered: 0,
            early: BTreeMap::new(),
            sizes: VecDeque::new(),
            bytes: 0,
            always: always as u64,
            limit: limit as u64,
        }
    }

    /// How many jobs may be in flight (submitted and not yet delivered) at most.
    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// Submits `input`, whose size in memory is about `size` bytes (`None`: unknown, counted
    /// as [`MAX_IN_FLIGHT_BYTES`]), then hands `sink` every result that is next in order.
    /// Waits for the oldest job while too many are in flight (see the module's note). Stops
    /// at `sink`'s first error.
    pub fn push<E>(
        &mut self,
        input: I,
        size: Option<u64>,
        sink: &mut impl FnMut(O) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(work) = &mut self.inline {
            return sink(work(input));
        }
        let jobs = self
            .jobs
            .as_ref()
            .expect("a pool has workers or inline work");
        let index = self.submitted;
        self.submitted += 1;
        let size = size.unwrap_or(MAX_IN_FLIGHT_BYTES);
        self.sizes.push_back(size);
        self.bytes += size;
        // Workers catch their panics and live as long as the pool: the channel is open.
        jobs.send((index, input))
            .expect("the workers run while the pool lives");
        while self.too_many_in_flight() {
            self.deliver_next(sink)?;
        }
        // Whatever has already arrived goes out now, so the caller writes while workers work.
        self.drain_ready(sink)
    }

    /// Whether the next job must wait for the oldest one.
    fn too_many_in_flight(&self) -> bool {
        let in_flight = self.submitted - self.delivered;
        in_flight >= self.limit || (in_flight >= self.always && self.bytes >= MAX_IN_FLIGHT_BYTES)
    }

    /// Hands `sink` every remaining result, in order.
    pub fn finish<E>(&mut self, sink: &mut impl FnMut(O) -> Result<(), E>) -> Result<(), E> {
        while self.delivered < self.submitted {
            self.deliver_next(sink)?;
        }
        Ok(())
    }

    /// Waits for the oldest undelivered result and hands it to `sink`.
    fn deliver_next<E>(&mut self, sink: &mut impl FnMut(O) -> Result<(), E>) -> Result<(), E> {
        let next = self.delivered;
        let outcome = loop {
            if let Some(outcome) = self.early.remove(&next) {
                break outcome;
            }
            let results = self.results.as_ref().expect("workers run");
            match results.recv() {
                Ok((index, outcome)) if index == next => break outcome,
                Ok((index, outcome)) => {
                    self.early.insert(index, outcome);
                }
                Err(_) => unreachable!("workers outlive the pool"),
            }
        };
        self.delivered += 1;
        if let Some(size) = self.sizes.pop_front() {
            self.bytes -= size;
        }
        match outcome {
            Ok(out) => sink(out),
            Err(panic) => resume_unwind(panic),
        }
    }

    /// Hands `sink` the results that are next in order and already here, without waiting.
    fn drain_ready<E>(&mut self, sink: &mut impl FnMut(O) -> Result<(), E>) -> Result<(), E> {
        if let Some(results) = &self.results {
            while let Ok((index, outcome)) = results.try_recv() {
                self.early.insert(index, outcome);
            }
        }
        while self.early.contains_key(&self.delivered) {
            self.deliver_next(sink)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Later jobs finish first (they sleep less), yet results come back in submission order,
    /// with the same values whatever the thread count.
    #[test]
    fn results_come_back_in_submission_order_whatever_the_thread_count() {
        for threads in [1, 2, 3, 8] {
            let mut seen = Vec::new();
            let in_flight_max = with_pool(
                threads,
                |n: u64| {
                    std::thread::sleep(Duration::from_millis(20 - n % 20));
                    n * n
                },
                |pool| {
                    let mut sink = |out: u64| -> Result<(), ()> {
                        seen.push(out);
                        Ok(())
                    };
                    for n in 0..40 {
                        pool.push(n, Some(1), &mut sink).unwrap();
                        assert!(pool.submitted - pool.delivered < pool.limit);
                    }
                    pool.finish(&mut sink).unwrap();
                    pool.limit()
                },
            );
            let expected: Vec<u64> = (0..40).map(|n| n * n).collect();
            assert_eq!(seen, expected, "{threads} threads");
            let limit = if threads == 1 {
                1
            } else {
                JOBS_PER_WORKER * threads
            };
            assert_eq!(in_flight_max, limit);
        }
    }

    /// Small jobs fill the window; large ones, or ones of unknown size, stop at two per
    /// worker. The first job is slow, so the caller submits as many as it may before its
    /// result goes out.
    #[test]
    fn the_jobs_in_flight_are_bounded_by_their_count_and_their_size() {
        let most_in_flight = |sizes: &[Option<u64>]| {
            with_pool(
                3,
                |n: usize| {
                    if n == 0 {
                        std::thread::sleep(Duration::from_millis(300));
                    }
                    n
                },
                |pool| {
                    let mut most = 0;
                    let mut sink = |_: usize| -> Result<(), ()> { Ok(()) };
                    for (n, size) in sizes.iter().enumerate() {
                        pool.push(n, *size, &mut sink).unwrap();
                        let in_flight = pool.submitted - pool.delivered;
                        assert!(in_flight < pool.limit);
                        assert!(in_flight < pool.always || pool.bytes < MAX_IN_FLIGHT_BYTES);
                        if pool.delivered == 0 {
                            most = most.max(in_flight);
                        }
                    }
                    pool.finish(&mut sink).unwrap();
                    most
                },
            )
        };
        let limit = (JOBS_PER_WORKER * 3) as u64;
        assert_eq!(most_in_flight(&vec![Some(1000); 200]), limit - 1);
        let large = vec![Some(MAX_IN_FLIGHT_BYTES / 2); 50];
        assert_eq!(most_in_flight(&large), 5);
        assert_eq!(most_in_flight(&vec![None; 50]), 5);
        // Below the budget a job of any size joins the small ones in flight.
        let mut mixed = vec![Some(1000); 10];
        mixed.push(Some(MAX_IN_FLIGHT_BYTES - 20_000));
        mixed.extend(vec![Some(1000); 40]);
        // Ten small ones, the large one and nine more are just under the budget.
        assert_eq!(most_in_flight(&mixed), 20);
    }

    /// Each worker makes its state once and keeps it for all its jobs.
    #[test]
    fn each_worker_has_its_own_state() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for threads in [1, 3] {
            let made = AtomicUsize::new(0);
            let mut jobs_done = Vec::new();
            with_pool_state(
                threads,
                || {
                    made.fetch_add(1, Ordering::SeqCst);
                    0_usize
                },
                |done: &mut usize, n: usize| {
                    *done += 1;
                    (n, *done)
                },
                |pool| {
                    let mut sink = |out: (usize, usize)| -> Result<(), ()> {
                        jobs_done.push(out);
                        Ok(())
                    };
                    for n in 0..30 {
                        pool.push(n, Some(1), &mut sink).unwrap();
                    }
                    pool.finish(&mut sink).unwrap();
                },
            );
            assert_eq!(made.load(Ordering::SeqCst), threads);
            let order: Vec<usize> = jobs_done.iter().map(|(n, _)| *n).collect();
            assert_eq!(order, (0..30).collect::<Vec<_>>());
            // Every job was counted by exactly one worker's state.
            assert!(jobs_done.iter().all(|(_, done)| (1..=30).contains(done)));
        }
    }

    #[test]
    fn a_sink_error_stops_the_pool_and_the_workers_end() {
        let result = with_pool(
            2,
            |n: u32| n,
            |pool| -> Result<(), String> {
                let mut sink = |n: u32| {
                    if n == 3 {
                        Err(format!("bad {n}"))
                    } else {
                        Ok(())
                    }
                };
                for n in 0..100 {
                    pool.push(n, Some(1), &mut sink)?;
                }
                pool.finish(&mut sink)
            },
        );
        assert_eq!(result, Err("bad 3".to_owned()));
    }

    #[test]
    #[should_panic(expected = "job 5 failed")]
    fn a_panic_in_a_worker_is_raised_on_the_calling_thread() {
        with_pool(
            2,
            |n: u32| {
                assert!(n != 5, "job {n} failed");
                n
            },
            |pool| {
                let mut sink = |_: u32| -> Result<(), ()> { Ok(()) };
                for n in 0..20 {
                    pool.push(n, Some(1), &mut sink).unwrap();
                }
                pool.finish(&mut sink).unwrap();
            },
        );
    }
}
